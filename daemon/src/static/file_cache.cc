#include "static/file_cache.h"

namespace hearth::statics {

const CachedFile* FileCache::find(std::string_view rel) const {
  auto it = entries_.find(rel);
  return it == entries_.end() ? nullptr : &it->second;
}

const CachedFile* FileCache::validate(std::string_view rel, const struct stat& now) {
  auto it = entries_.find(rel);
  if (it == entries_.end()) return nullptr;
  if (same_file(it->second, now)) return &it->second;
  bytes_ -= it->second.body.size();
  entries_.erase(it);
  return nullptr;
}

const CachedFile* FileCache::insert(std::string_view rel, CachedFile file) {
  if (!fits(file.body.size())) return nullptr;
  erase(rel);
  if (entries_.size() + 1 > max_entries_ || bytes_ + file.body.size() > max_bytes_) {
    entries_.clear();
    bytes_ = 0;
  }
  bytes_ += file.body.size();
  auto [it, inserted] = entries_.emplace(std::string(rel), std::move(file));
  (void)inserted;
  return &it->second;
}

void FileCache::erase(std::string_view rel) {
  auto it = entries_.find(rel);
  if (it == entries_.end()) return;
  bytes_ -= it->second.body.size();
  entries_.erase(it);
}

}  // namespace hearth::statics
