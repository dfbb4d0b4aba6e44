// Boost.JSON's compiled part. Debian's Boost 1.81 CMake config has no
// Boost::json library, so the program compiles it itself: this is the one .cc
// that includes <boost/json/src.hpp> (a second one would define every symbol
// twice). Every other file includes <boost/json.hpp> or its parts. Users: the
// control protocol (control/), the status answer (app/status_json.cc) and the
// --check-config summary's strings (config/summary.cc).
#include <boost/json/src.hpp>
