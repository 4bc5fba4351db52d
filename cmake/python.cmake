# SPDX-License-Identifier: MPL-2.0
# Install rules of the Python satellite library (python/zsat, pure Python over Debian's
# python3-zmq and python3-msgpack) and its examples, as component `python`, so a package
# (python3-zsat) can take exactly these files: `cmake --install BUILD --component python`.
# Debian's layout for modules of every python3 version: <prefix>/lib/python3/dist-packages
# (not CMAKE_INSTALL_LIBDIR, which is multiarch on Debian). No __pycache__ is installed: the
# python3-zsat package's postinst byte-compiles (py3compile, as dh_python3 does) and its prerm
# cleans up. That package's copyright and changelog are installed by cmake/package.cmake.
include(GNUInstallDirs)
set(ZSAT_PYTHON_DIR "lib/python3/dist-packages"
    CACHE STRING "where the zsat Python package is installed, relative to the prefix")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/python/zsat/
        DESTINATION ${ZSAT_PYTHON_DIR}/zsat
        COMPONENT python
        FILES_MATCHING PATTERN "*.py"
        PATTERN "__pycache__" EXCLUDE)
file(GLOB ZSAT_PYTHON_EXAMPLES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/python/examples/*.py)
install(FILES ${ZSAT_PYTHON_EXAMPLES}
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsat/python-examples
        COMPONENT python)
