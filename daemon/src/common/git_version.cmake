# Run at build time (cmake -P) by the hearth_git_version target: writes
# build_version.h from build_version.h.in with `git describe`. configure_file
# leaves the file untouched when the text is the same, so only a new commit
# (or a tree turning dirty/clean) rebuilds hearthd's and hearthctl's mains.
# Inputs: SOURCE_DIR, INPUT, OUTPUT, GIT_EXECUTABLE (may be empty).
set(HEARTH_GIT_DESCRIBE "")
if(GIT_EXECUTABLE AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" describe --tags --always --dirty
                  WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE HEARTH_GIT_DESCRIBE
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
configure_file("${INPUT}" "${OUTPUT}" @ONLY)
