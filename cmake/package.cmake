# SPDX-License-Identifier: MPL-2.0
# The Debian package, built by CPack from the install rules (decision D-pkg-1):
#   cpack --config build/CPackConfig.cmake -B OUT   ->   OUT/zsat_<version>-1_<arch>.deb
# Depends from dpkg-shlibdeps (plus adduser for the postinst), a shlibs file for libzsat,
# the zsat system user created by debian/postinst, /etc/zsat/topology.yaml a conffile,
# the template unit zsat@.service in /lib/systemd/system.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME zsat)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The install rules see prefix /usr (for /etc and /lib/systemd/system) and DESTDIR=staging.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "zsat maintainers <maintainers@users.noreply.b-seed-147122f7.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "distributed measurement topologies on ZeroMQ")
# CPack indents every line after the first by one space itself.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "zsat runs small satellite processes (probes, workers, sinks)
that exchange vectors over ZeroMQ; a per-host orchester routes jobs, a
tracker follows every task through its state machine, and a replay buffer
keeps critical channels on disk. This package ships the zsat command, the
libzsat shared library with its header and pkg-config file, man pages, bash
completion and the systemd template unit zsat@.service (instance: the host
name; topology: /etc/zsat/topology.yaml).")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
configure_file(${CMAKE_SOURCE_DIR}/debian/conffiles ${CMAKE_BINARY_DIR}/debian/conffiles COPYONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/debian/postinst ${CMAKE_SOURCE_DIR}/debian/postrm
    ${CMAKE_SOURCE_DIR}/debian/triggers ${CMAKE_BINARY_DIR}/debian/conffiles)

# What Debian wants in /usr/share/doc/zsat: the copyright (DEP-5) and a gzipped changelog.
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
                   COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/debian/changelog
                           > ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
                   DEPENDS ${CMAKE_SOURCE_DIR}/debian/changelog)
add_custom_target(zsat_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz)
install(FILES debian/copyright ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
include(CPack)
