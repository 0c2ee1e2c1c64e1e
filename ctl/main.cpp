// strandctl: wires argv, $STRAND_AGENT, SIGINT and stdout to the commands.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stop_token>
#include <thread>

#include "ctl/cli.h"
#include "ctl/commands.h"

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_signal(int) { g_interrupted = 1; }

}  // namespace

int main(int argc, char** argv) {
  auto opts = strand::ctl::parse_args(argc, argv, std::getenv("STRAND_AGENT"), std::cout, std::cerr);
  if (!opts) return opts.error();

  // Under --follow, SIGINT/SIGTERM end the polling loop and strandctl exits 0;
  // a watcher thread turns the flag into a stop request. One-shot commands
  // keep the default action (Ctrl-C interrupts a slow connect at once).
  std::stop_source stop;
  std::optional<std::jthread> watcher;
  if (opts->follow) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    watcher.emplace([&stop](std::stop_token done) {
      while (!done.stop_requested()) {
        if (g_interrupted) {
          stop.request_stop();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }

  std::ios::sync_with_stdio(false);
  strand::ctl::Io io{std::cout, std::cerr, strand::ctl::system_now_ms, stop.get_token()};
  return strand::ctl::run_command(*opts, io);
}
