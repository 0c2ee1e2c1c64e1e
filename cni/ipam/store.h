#pragma once
// Store: strand-ipam's allocations on disk, in host-local's layout so that
// either plugin reads (and releases) what the other wrote:
//   <dir>/lock                  flock(LOCK_EX) held around every change (host-local takes it too)
//   <dir>/<ip>                  one file per allocated address: "<container id>\r\n<ifname>"
//   <dir>/last_reserved_ip.<n>  the address range set n handed out last
// and one index per attachment, strand's own, so that ADD and DEL need not read
// every address file to find an attachment's addresses:
//   <dir>/by-attachment/<container id>:<ifname>   its addresses, one per line
//   <dir>/spare/                released files kept for reuse (below)
// where <dir> is <data_dir>/<network>.
//
// Released files are not unlinked but moved to <dir>/spare/, and new ones are
// made by rewriting a spare and renaming it into place: on ext4 allocating and
// freeing inodes costs far more (and far less predictably) than renaming. The
// spares never outnumber the most files the directory held at once; GC frees them.
//
// Crash consistency (kill -9 at any point):
// - Every file with content appears complete or not at all: it is written
//   first (a spare rewritten in place, else an unnamed O_TMPFILE), then
//   renamed or linked in. Address files arrive with RENAME_NOREPLACE or link,
//   which fail with EEXIST, so no two writers ever own an address; the index
//   is renamed over. A crash leaves at most a spare with any content. Where
//   neither works the file is written under a fixed temporary name first; a
//   crash leaves at most that file, which owns nothing and is replaced by the
//   next write (or removed by GC).
// - The index is written before its address files are created and removed
//   after they are, so every address file an attachment holds is in its index.
//   The index may name addresses the attachment does not hold (a crash between
//   the two), so ownership is always decided by the address file.
// - Files other writers leave are understood: host-local's old one-line format
//   (container id only) and empty or partial files (an O_EXCL writer killed
//   before writing), which belong to nobody and are released by GC.
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cni/types.h"
#include "common/error.h"
#include "common/fd.h"
#include "common/ip.h"

namespace strand::cni::ipam {

// Who an address file says holds the address.
struct Owner {
  std::string container_id;  // empty: an empty or unreadable file, held by nobody
  std::string ifname;        // empty: host-local's old format, any ifname of the container

  [[nodiscard]] static Owner parse(std::string_view content);
  [[nodiscard]] bool holds(const Attachment& a) const;
  bool operator==(const Owner&) const = default;
};

// The text of an address file for `a` (host-local's format).
[[nodiscard]] std::string owner_record(const Attachment& a);

// The index file's name for `a`, and back (nullopt for other names).
[[nodiscard]] std::string index_name(const Attachment& a);
[[nodiscard]] std::optional<Attachment> index_attachment(std::string_view name);

class Store {
 public:
  // Opens <data_dir>/<network>/; with `create`, makes it when missing and
  // allows writing, else a missing directory fails with ENOENT.
  [[nodiscard]] static strand::Result<Store> open(const std::string& data_dir, const std::string& network, bool create);

  // Holds the exclusive flock on <dir>/lock while alive.
  class Lock {
   public:
    explicit Lock(UniqueFd fd) : fd_(std::move(fd)) {}

   private:
    UniqueFd fd_;  // closing it releases the lock
  };
  [[nodiscard]] strand::Result<Lock> lock() const;

  // Whether an address file exists.
  [[nodiscard]] strand::Result<bool> exists(const IpAddr& ip) const;
  // The address file's owner; nullopt when the address is free.
  [[nodiscard]] strand::Result<std::optional<Owner>> owner(const IpAddr& ip) const;
  // Creates the address file for `who`; EEXIST when the address is taken.
  [[nodiscard]] Status reserve(const IpAddr& ip, const Attachment& who);
  // Removes the address file when `who` holds it; true when it did.
  [[nodiscard]] strand::Result<bool> release(const IpAddr& ip, const Attachment& who);
  // Removes the address file whoever holds it (GC); success when absent.
  [[nodiscard]] Status remove(const IpAddr& ip);

  struct Reservation {
    IpAddr ip;
    Owner owner;
  };
  // The addresses with a file, from the directory listing alone (no file is read).
  [[nodiscard]] strand::Result<std::vector<IpAddr>> allocated() const;
  // Every address file, read one by one (GC, and DEL without an index).
  [[nodiscard]] strand::Result<std::vector<Reservation>> reservations() const;

  // Round-robin hint of range set `set`; nullopt when absent or unreadable.
  // A writable store keeps the file open for set_last_reserved.
  [[nodiscard]] std::optional<IpAddr> last_reserved(size_t set);
  [[nodiscard]] Status set_last_reserved(size_t set, const IpAddr& ip);

  // The attachment's index: nullopt when it has none. Lines that are not
  // addresses (a torn write) are skipped.
  [[nodiscard]] strand::Result<std::optional<std::vector<IpAddr>>> read_index(const Attachment& a) const;
  // Replaces the index atomically.
  [[nodiscard]] Status write_index(const Attachment& a, std::span<const IpAddr> ips);
  // Success when absent.
  [[nodiscard]] Status remove_index(const Attachment& a);
  [[nodiscard]] strand::Result<std::vector<Attachment>> indexed() const;
  // GC: removes the temporary files a killed writer left and frees the spares.
  [[nodiscard]] Status tidy();

  [[nodiscard]] const std::string& path() const { return path_; }
  // Fallbacks taken on file systems without renameat2 flags or O_TMPFILE;
  // tests use them to cover those paths.
  void disable_pool() { pool_ = false; }
  void disable_tmpfile() { tmpfile_ = false; }

 private:
  Store(std::string path, UniqueFd dir, bool writable)
      : path_(std::move(path)), dir_(std::move(dir)), writable_(writable) {}
  // Makes `name` (relative to the directory; "by-attachment/x" too) hold
  // exactly `content`, atomically: EEXIST when it exists unless `replace`.
  [[nodiscard]] Status publish(const std::string& name, std::string_view content, bool replace);
  [[nodiscard]] Status publish_once(const std::string& name, std::string_view content, bool replace);
  [[nodiscard]] Status publish_named(const std::string& name, std::string_view content, bool replace);
  // A spare file's name in spare/, nullopt when there is none.
  [[nodiscard]] strand::Result<std::optional<std::string>> take_spare();
  // Moves a released file into spare/ (`kind` prefixes its name there) or,
  // failing that, unlinks it. Success when it does not exist.
  [[nodiscard]] Status retire(const std::string& name, char kind);

  struct Hint {
    UniqueFd fd;
    size_t size = 0;  // of the content read
  };

  std::string path_;
  UniqueFd dir_;
  bool writable_ = false;
  std::map<size_t, Hint> hints_;  // last_reserved_ip.<n> kept open between read and write
  bool pool_ = true;
  bool tmpfile_ = true;
  std::optional<std::vector<std::string>> spares_;  // listed once per Store, under the lock
};

}  // namespace strand::cni::ipam
