# CTest: one test per class selftest, one per end-to-end script in tests/e2e (shell or
# Python), one per topology fixture check. Scripts get the build and source dirs in the env.
foreach(c ${ZSAT_SELFTEST_CLASSES})
  add_test(NAME selftest.${c} COMMAND zsat_selftest -t ${c})
  set_tests_properties(selftest.${c} PROPERTIES TIMEOUT 300 LABELS unit)
endforeach()

file(GLOB e2e CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/e2e/*.sh ${CMAKE_SOURCE_DIR}/tests/e2e/*.py)
foreach(t ${e2e})
  get_filename_component(name ${t} NAME_WE)
  get_filename_component(ext ${t} EXT)
  if(ext STREQUAL ".py")
    add_test(NAME e2e.${name} COMMAND /usr/bin/python3 ${t})
  else()
    add_test(NAME e2e.${name} COMMAND bash ${t})
  endif()
  set_tests_properties(e2e.${name} PROPERTIES TIMEOUT 600 LABELS e2e
    ENVIRONMENT "ZSAT_BIN=$<TARGET_FILE:zsat_cli>;ZSAT_BUILD=${CMAKE_BINARY_DIR};ZSAT_SRC=${CMAKE_SOURCE_DIR}"
    SKIP_RETURN_CODE 77)
  if(name MATCHES "^harness_")
    # emulated hosts on a 2-core machine: one harness test at a time
    set_tests_properties(e2e.${name} PROPERTIES RESOURCE_LOCK zsat_harness)
  endif()
endforeach()
