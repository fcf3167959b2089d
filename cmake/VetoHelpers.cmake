# veto_cc_library / veto_cc_test / veto_cc_binary: one helper per target kind, so each folder's
# CMakeLists.txt is a plain list (after Abseil's CMake/AbseilHelpers.cmake).
#
# Layering (DESIGN.md §2) is enforced here: a library in folder F may link only the veto
# libraries of the folders listed in VETO_ALLOWED_<F>. A violation stops the configure step.

set(VETO_ALLOWED_core "core")
set(VETO_ALLOWED_email "core;email")
set(VETO_ALLOWED_rules "core;rules")
set(VETO_ALLOWED_classifiers "core;classifiers")
set(VETO_ALLOWED_policy "core;policy")
set(VETO_ALLOWED_config "core;email;rules;classifiers;policy;config")
set(VETO_ALLOWED_mobile "core;email;rules;classifiers;policy;config;mobile")
set(VETO_ALLOWED_daemon "core;email;rules;classifiers;policy;config;mobile;daemon")
set(VETO_ALLOWED_cli "core;email;rules;classifiers;policy;config;mobile;daemon;cli")

set(VETO_WARNINGS -Wall -Wextra -Werror)

function(_veto_check_layering folder deps)
  foreach(dep IN LISTS deps)
    if(TARGET ${dep})
      get_target_property(dep_folder ${dep} VETO_FOLDER)
      if(dep_folder AND NOT dep_folder IN_LIST VETO_ALLOWED_${folder})
        message(FATAL_ERROR
          "layering: a library in ${folder}/ may not depend on ${dep} (${dep_folder}/); "
          "allowed: ${VETO_ALLOWED_${folder}} (DESIGN.md §2)")
      endif()
    endif()
  endforeach()
endfunction()

# veto_cc_library(NAME name SRCS a.cc ... [DEPS targets...])
# Creates veto_<name>, a static library in the current folder.
function(veto_cc_library)
  cmake_parse_arguments(V "" "NAME" "SRCS;DEPS" ${ARGN})
  get_filename_component(folder ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  if(NOT DEFINED VETO_ALLOWED_${folder})
    message(FATAL_ERROR "veto_cc_library: folder ${folder}/ has no layering entry")
  endif()
  _veto_check_layering(${folder} "${V_DEPS}")
  add_library(veto_${V_NAME} STATIC ${V_SRCS})
  target_include_directories(veto_${V_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(veto_${V_NAME} PRIVATE ${VETO_WARNINGS})
  target_link_libraries(veto_${V_NAME} PUBLIC ${V_DEPS})
  set_target_properties(veto_${V_NAME} PROPERTIES VETO_FOLDER ${folder})
endfunction()

# veto_link_allocator(target): links mimalloc into a program when VETO_MIMALLOC_LIBRARY is set
# (release builds; see the root CMakeLists). A shared libmimalloc among the program's needed
# libraries interposes malloc/free for the whole process, Hyperscan and PCRE2 included;
# --no-as-needed keeps it needed although the program calls none of its own symbols.
function(veto_link_allocator target)
  if(VETO_MIMALLOC_LIBRARY)
    # One item, so CMake's de-duplication of link flags cannot separate push from pop.
    target_link_libraries(${target} PRIVATE
      "-Wl,--push-state,--no-as-needed,${VETO_MIMALLOC_LIBRARY},--pop-state")
  endif()
endfunction()

# veto_cc_binary(NAME name SRCS ... DEPS ...): a program in build/bin/ (with mimalloc in
# release builds).
function(veto_cc_binary)
  cmake_parse_arguments(V "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${V_NAME} ${V_SRCS})
  target_include_directories(${V_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${V_NAME} PRIVATE ${VETO_WARNINGS})
  target_link_libraries(${V_NAME} PRIVATE ${V_DEPS})
  veto_link_allocator(${V_NAME})
endfunction()

# veto_cc_test(NAME name SRCS ... DEPS ... [LABELS l...]): a GoogleTest binary registered with CTest.
function(veto_cc_test)
  cmake_parse_arguments(V "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${V_NAME} ${V_SRCS})
  target_include_directories(${V_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${V_NAME} PRIVATE ${VETO_WARNINGS})
  target_compile_definitions(${V_NAME} PRIVATE
    VETO_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    VETO_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  target_link_libraries(${V_NAME} PRIVATE ${V_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set_target_properties(${V_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${V_NAME} COMMAND ${V_NAME})
  if(V_LABELS)
    set_tests_properties(${V_NAME} PROPERTIES LABELS "${V_LABELS}")
  endif()
endfunction()
