#include "frontdoor/compressor.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <algorithm>

namespace hearth::frontdoor {
namespace {

class GzipCompressor final : public Compressor {
 public:
  explicit GzipCompressor(int level) {
    ok_ = deflateInit2(&z_, std::clamp(level, 1, 9), Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipCompressor() override {
    if (ok_) deflateEnd(&z_);
  }
  bool ok() const { return ok_; }

  bool write(std::string_view in, std::string& out) override { return run(in, Z_SYNC_FLUSH, out); }
  bool finish(std::string& out) override { return run({}, Z_FINISH, out); }

 private:
  bool run(std::string_view in, int flush, std::string& out) {
    if (!ok_) return false;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      std::size_t before = out.size();
      std::size_t room = std::max<std::size_t>(deflateBound(&z_, z_.avail_in) + 64, 4096);
      out.resize(before + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + before);
      z_.avail_out = static_cast<uInt>(room);
      int rc = deflate(&z_, flush);
      out.resize(before + room - z_.avail_out);
      if (rc == Z_STREAM_ERROR) return false;
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) return true;
      if (rc == Z_BUF_ERROR && z_.avail_in == 0 && flush != Z_FINISH) return true;  // nothing left to flush
    }
  }

  z_stream z_{};
  bool ok_ = false;
};

class BrotliCompressor final : public Compressor {
 public:
  explicit BrotliCompressor(int level) : s_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (!s_) return;
    BrotliEncoderSetParameter(s_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(std::clamp(level, 0, 11)));
    // A 256 KiB window (the default is 4 MiB): web pages gain nothing from more, and an encoder
    // lives as long as its response (a long stream keeps one), so memory per response stays small.
    BrotliEncoderSetParameter(s_, BROTLI_PARAM_LGWIN, 18);
    BrotliEncoderSetParameter(s_, BROTLI_PARAM_MODE, BROTLI_MODE_TEXT);
  }
  ~BrotliCompressor() override {
    if (s_) BrotliEncoderDestroyInstance(s_);
  }
  bool ok() const { return s_ != nullptr; }

  bool write(std::string_view in, std::string& out) override { return run(in, BROTLI_OPERATION_FLUSH, out); }
  bool finish(std::string& out) override { return run({}, BROTLI_OPERATION_FINISH, out); }

 private:
  bool run(std::string_view in, BrotliEncoderOperation op, std::string& out) {
    if (!s_) return false;
    std::size_t avail_in = in.size();
    const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
    for (;;) {
      std::size_t avail_out = 0;
      if (!BrotliEncoderCompressStream(s_, op, &avail_in, &next_in, &avail_out, nullptr, nullptr)) return false;
      std::size_t size = 0;
      const uint8_t* produced = BrotliEncoderTakeOutput(s_, &size);
      if (size) out.append(reinterpret_cast<const char*>(produced), size);
      if (avail_in == 0 && !BrotliEncoderHasMoreOutput(s_)) {
        if (op != BROTLI_OPERATION_FINISH || BrotliEncoderIsFinished(s_)) return true;
      }
    }
  }

  BrotliEncoderState* s_;
};

}  // namespace

std::unique_ptr<Compressor> Compressor::make(Coding coding, int level) {
  if (coding == Coding::Gzip) {
    auto c = std::make_unique<GzipCompressor>(level);
    if (c->ok()) return c;
  } else if (coding == Coding::Brotli) {
    auto c = std::make_unique<BrotliCompressor>(level);
    if (c->ok()) return c;
  }
  return nullptr;
}

}  // namespace hearth::frontdoor
