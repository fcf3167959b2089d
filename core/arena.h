// veto/core/arena.h — append-only byte storage that never moves what it has handed out.
//
// A Message owns one Arena; every derived field (decoded header values, decoded parts,
// rendered text) is written into it once and exposed as a std::string_view. Views stay valid
// for the Arena's lifetime, because blocks are never reallocated.
//
//   Arena arena;
//   std::string_view v = arena.Copy("hello");
//   char* p = arena.Allocate(n);   // fill, then arena.View(p, used)
//
// Thread-safety: none; an Arena belongs to one message, which one thread processes at a time.
#ifndef VETO_CORE_ARENA_H_
#define VETO_CORE_ARENA_H_

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace veto {

class Arena {
 public:
  explicit Arena(size_t block_size = 64 * 1024) : block_size_(block_size) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&&) = default;
  Arena& operator=(Arena&&) = default;

  // Returns `n` writable bytes that stay put until the Arena dies. Never null.
  char* Allocate(size_t n) {
    if (n > remaining_) NewBlock(n);
    char* p = cursor_;
    cursor_ += n;
    remaining_ -= n;
    bytes_used_ += n;
    return p;
  }

  // Gives back the unused tail of the most recent Allocate(n) call, keeping `used` bytes.
  void Shrink(char* p, size_t n, size_t used) {
    if (p + n == cursor_ && used <= n) {
      cursor_ -= n - used;
      remaining_ += n - used;
      bytes_used_ -= n - used;
    }
  }

  std::string_view Copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = Allocate(s.size());
    std::copy(s.begin(), s.end(), p);
    return {p, s.size()};
  }

  // Total bytes handed out so far.
  size_t bytes_used() const { return bytes_used_; }

  // Forgets everything handed out (every view into the Arena dies) but keeps the first block
  // when it has the standard size, so a reused Arena (one Message rebuilt per SMS) allocates
  // nothing in the common case.
  void Reset() {
    if (!blocks_.empty() && first_block_size_ == block_size_) {
      blocks_.resize(1);
      cursor_ = blocks_[0].get();
      remaining_ = first_block_size_;
    } else {
      blocks_.clear();
      cursor_ = nullptr;
      remaining_ = 0;
    }
    bytes_used_ = 0;
  }

 private:
  void NewBlock(size_t at_least) {
    size_t size = at_least > block_size_ ? at_least : block_size_;
    if (blocks_.empty()) first_block_size_ = size;
    blocks_.emplace_back(new char[size]);
    cursor_ = blocks_.back().get();
    remaining_ = size;
  }

  size_t block_size_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* cursor_ = nullptr;
  size_t remaining_ = 0;
  size_t bytes_used_ = 0;
  size_t first_block_size_ = 0;
};

}  // namespace veto

#endif  // VETO_CORE_ARENA_H_
