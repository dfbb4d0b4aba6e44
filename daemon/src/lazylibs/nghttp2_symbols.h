#pragma once
// Every nghttp2 function hearthd calls (net/h2_connection.cc), X(name, arity):
// the list behind lazylibs/nghttp2_stubs.cc and the loader
// (lazylibs/libraries.h). See lazylibs/zlib_symbols.h.
#define HEARTH_NGHTTP2_SYMBOLS(X)                                        \
  X(nghttp2_option_del, 1)                                               \
  X(nghttp2_option_new, 1)                                               \
  X(nghttp2_option_set_max_continuations, 2)                             \
  X(nghttp2_option_set_max_deflate_dynamic_table_size, 2)                \
  X(nghttp2_option_set_max_outbound_ack, 2)                              \
  X(nghttp2_option_set_max_settings, 2)                                  \
  X(nghttp2_option_set_stream_reset_rate_limit, 3)                       \
  X(nghttp2_session_callbacks_del, 1)                                    \
  X(nghttp2_session_callbacks_new, 1)                                    \
  X(nghttp2_session_callbacks_set_on_begin_headers_callback, 2)          \
  X(nghttp2_session_callbacks_set_on_data_chunk_recv_callback, 2)        \
  X(nghttp2_session_callbacks_set_on_frame_recv_callback, 2)             \
  X(nghttp2_session_callbacks_set_on_frame_send_callback, 2)             \
  X(nghttp2_session_callbacks_set_on_header_callback, 2)                 \
  X(nghttp2_session_callbacks_set_on_stream_close_callback, 2)           \
  X(nghttp2_session_callbacks_set_send_callback, 2)                      \
  X(nghttp2_session_del, 1)                                              \
  X(nghttp2_session_get_last_proc_stream_id, 1)                          \
  X(nghttp2_session_mem_recv, 3)                                         \
  X(nghttp2_session_resume_data, 2)                                      \
  X(nghttp2_session_send, 1)                                             \
  X(nghttp2_session_server_new2, 4)                                      \
  X(nghttp2_session_set_local_window_size, 4)                            \
  X(nghttp2_session_terminate_session, 2)                                \
  X(nghttp2_session_want_read, 1)                                        \
  X(nghttp2_session_want_write, 1)                                       \
  X(nghttp2_strerror, 1)                                                 \
  X(nghttp2_submit_goaway, 6)                                            \
  X(nghttp2_submit_response, 5)                                          \
  X(nghttp2_submit_rst_stream, 4)                                        \
  X(nghttp2_submit_settings, 4)
