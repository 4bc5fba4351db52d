# SPDX-License-Identifier: MPL-2.0
# Install rules (GNUInstallDirs): the CLI, libzsat.so with its headers and pkg-config file,
# the shipped data in share/zsat, man pages generated from each command's --help, bash
# completion, and the systemd template unit written by `zsat systemd --template`.
# Binaries find the data relative to themselves (common/zsat_datadir.c), so a prefix can be
# moved or copied as a whole.

install(TARGETS zsat_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS zsat_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
# zsat.h includes these by name: they go beside it.
install(FILES include/zsat.h common/zsat_diag.h serialization/zsat_vector.h
              serialization/zsat_dsat.h serialization/zsat_record.h serialization/zsat_evbatch.h
              topologies/zsat_topology.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
file(RELATIVE_PATH ZSAT_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" ZSAT_PC_TO_PREFIX "${ZSAT_PC_TO_PREFIX}")
configure_file(dist/zsat.pc.in ${CMAKE_BINARY_DIR}/zsat.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/zsat.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(ZSAT_SHARE ${CMAKE_INSTALL_DATADIR}/zsat)
install(DIRECTORY topologies/ DESTINATION ${ZSAT_SHARE}/topologies FILES_MATCHING PATTERN "*.yaml")
install(DIRECTORY harness/scenarios/ DESTINATION ${ZSAT_SHARE}/harness/scenarios
        FILES_MATCHING PATTERN "*.yaml")
install(DIRECTORY docs/ DESTINATION ${ZSAT_SHARE}/docs)
install(DIRECTORY web/ DESTINATION ${ZSAT_SHARE}/web)  # the tracker's dashboard (docs/http.md)
install(FILES README.md DESTINATION ${ZSAT_SHARE}/docs)

# Man pages: one source, the --help texts, turned into roff by cmake/manpages.sh.
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/man1/zsat.1.gz
                   COMMAND ${CMAKE_COMMAND} -E rm -rf ${CMAKE_BINARY_DIR}/man
                   COMMAND bash ${CMAKE_SOURCE_DIR}/cmake/manpages.sh $<TARGET_FILE:zsat_cli>
                           ${CMAKE_BINARY_DIR}/man ${PROJECT_VERSION}
                   DEPENDS zsat_cli ${CMAKE_SOURCE_DIR}/cmake/manpages.sh
                   COMMENT "man pages from zsat --help")
add_custom_target(zsat_man ALL DEPENDS ${CMAKE_BINARY_DIR}/man/man1/zsat.1.gz)
install(DIRECTORY ${CMAKE_BINARY_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR})

install(FILES dist/zsat.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME zsat)

# The template unit zsat@.service and /etc/zsat/topology.yaml are placed at install time,
# from the prefix given then (`cmake --install --prefix`, or /usr for the .deb): the unit
# runs <prefix>/bin/zsat; prefix /usr means /etc and /lib/systemd/system (Debian), any other
# prefix keeps both under it. The unit comes from the same writer as `zsat systemd`.
install(CODE "set(ZSAT_CLI \"$<TARGET_FILE:zsat_cli>\")
              set(ZSAT_DEFAULT_TOPOLOGY \"${CMAKE_SOURCE_DIR}/topologies/default.yaml\")
              set(ZSAT_UNIT_STAGING \"${CMAKE_BINARY_DIR}/systemd-staging\")")
install(CODE [[
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(zsat_etc /etc/zsat)
    set(zsat_units /lib/systemd/system)
  else()
    set(zsat_etc ${CMAKE_INSTALL_PREFIX}/etc/zsat)
    set(zsat_units ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
  endif()
  string(RANDOM LENGTH 10 nonce)  # two installs at once (tests) must not share the file
  set(staging "${ZSAT_UNIT_STAGING}-${nonce}")
  file(MAKE_DIRECTORY ${staging})
  execute_process(COMMAND ${ZSAT_CLI} systemd --template --exec ${CMAKE_INSTALL_PREFIX}/bin/zsat
                          --config ${zsat_etc} -o ${staging}
                  OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  file(INSTALL ${staging}/zsat@.service DESTINATION ${zsat_units}
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  file(REMOVE_RECURSE ${staging})
  file(INSTALL ${ZSAT_DEFAULT_TOPOLOGY} DESTINATION ${zsat_etc} RENAME topology.yaml
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
]])
