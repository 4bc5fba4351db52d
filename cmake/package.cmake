# SPDX-License-Identifier: MPL-2.0
# The Debian packages, built by CPack from the install rules (decision D29), one per
# install component:
#   cpack --config build/CPackConfig.cmake -B OUT   ->   OUT/zsat_<version>-1_<arch>.deb
#                                                        OUT/python3-zsat_<version>-1_all.deb
# zsat (component Unspecified: every install rule without COMPONENT): Depends from
# dpkg-shlibdeps (plus adduser for the postinst), a shlibs file for libzsat, the zsat system
# user created by debian/postinst, /etc/zsat/topology.yaml a conffile, the template unit
# zsat@.service in /lib/systemd/system.
# python3-zsat (component python, cmake/python.cmake): the pure-Python satellite library and
# its examples; Architecture all; Depends on Debian's python3, python3-zmq, python3-msgpack
# and on zsat of the same version; byte-compiled by py3compile in its postinst.
# Per-component variables only: CPackDeb falls back to the global CPACK_DEBIAN_PACKAGE_*
# (DEPENDS, CONTROL_EXTRA, ...) for a component that sets none, so nothing zsat-only is global.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME zsat)
set(CPACK_DEB_COMPONENT_INSTALL ON)
# Listed here: include(CPack) would only see the components declared before it.
set(CPACK_COMPONENTS_ALL Unspecified python)
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_NAME zsat)
set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-zsat)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The install rules see prefix /usr (for /etc and /lib/systemd/system) and DESTDIR=staging.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "zsat maintainers <maintainers@users.noreply.b-seed-147122f7.example>")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The first line is the summary; CPack indents every later line by one space itself.
# The summary empty: CPack would prepend that one line (project's DESCRIPTION) to both.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_SECTION net)
set(CPACK_DEBIAN_UNSPECIFIED_DESCRIPTION "distributed measurement topologies on ZeroMQ
zsat runs small satellite processes (probes, workers, sinks)
that exchange vectors over ZeroMQ; a per-host orchester routes jobs, a
tracker follows every task through its state machine, and a replay buffer
keeps critical channels on disk. This package ships the zsat command, the
libzsat shared library with its header and pkg-config file, man pages, bash
completion and the systemd template unit zsat@.service (instance: the host
name; topology: /etc/zsat/topology.yaml).")
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)   # only zsat has a shared library
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
configure_file(${CMAKE_SOURCE_DIR}/debian/conffiles ${CMAKE_BINARY_DIR}/debian/conffiles COPYONLY)
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/debian/postinst ${CMAKE_SOURCE_DIR}/debian/postrm
    ${CMAKE_SOURCE_DIR}/debian/triggers ${CMAKE_BINARY_DIR}/debian/conffiles)

set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SOURCE zsat)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
    "python3, python3-zmq, python3-msgpack, zsat (= ${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE})")
set(CPACK_DEBIAN_PYTHON_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/debian/python3-zsat/postinst ${CMAKE_SOURCE_DIR}/debian/python3-zsat/prerm)
set(CPACK_DEBIAN_PYTHON_DESCRIPTION "Python library for zsat satellites
The zsat Python package writes satellites (probes, workers, sinks) of a zsat
topology in Python over Debian's python3-zmq and python3-msgpack: it asks the
zsat command for its node's endpoints, speaks the zsat frames and reports to
the tracker, so a worker is one function. Examples are in
/usr/share/zsat/python-examples.")

# What Debian wants in /usr/share/doc/<package> of each package: the copyright (DEP-5) and
# the gzipped changelog (of the source, zsat).
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
                   COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/debian/changelog
                           > ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
                   DEPENDS ${CMAKE_SOURCE_DIR}/debian/changelog)
add_custom_target(zsat_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz)
install(FILES debian/copyright ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES debian/copyright ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/python3-zsat COMPONENT python)
include(CPack)
