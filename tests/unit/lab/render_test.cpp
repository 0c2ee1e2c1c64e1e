#include <gtest/gtest.h>

#include "lab/render.h"

namespace strand::lab {
namespace {

LabState two_pods() {
  LabState s;
  s.nodes.push_back({"s-node1", 1, "s_node1", {"10.100.0.1"}, {"10.244.1.0/24"}, 0});
  PodState a;
  a.ns = "x";
  a.name = "a";
  a.node = "s-node1";
  a.ips = {"10.244.1.2", "fd00:10:244:1::2"};
  a.labels = {{"pod", "a"}, {"app", "web"}};
  s.pods[a.key()] = a;
  PodState b = a;
  b.name = "b";
  b.ips = {"10.244.1.3"};
  b.labels = {};
  s.pods[b.key()] = b;
  return s;
}

TEST(Render, PodsJsonShape) {
  auto j = pods_json(two_pods());
  EXPECT_EQ(j, nlohmann::ordered_json::parse(R"({"items":[
    {"namespace":"x","name":"a","node":"s-node1","ips":["10.244.1.2","fd00:10:244:1::2"],"labels":{"app":"web","pod":"a"}},
    {"namespace":"x","name":"b","node":"s-node1","ips":["10.244.1.3"],"labels":{}}]})"));
}

TEST(Render, NodesJsonShape) {
  EXPECT_EQ(nodes_json(two_pods()),
            nlohmann::ordered_json::parse(R"({"items":[{"name":"s-node1","ips":["10.100.0.1"],"podCIDRs":["10.244.1.0/24"]}]})"));
}

TEST(Render, PodsTable) {
  EXPECT_EQ(pods_table(two_pods()),
            "NAMESPACE  NAME  NODE     IPS                          LABELS\n"
            "x          a     s-node1  10.244.1.2,fd00:10:244:1::2  app=web,pod=a\n"
            "x          b     s-node1  10.244.1.3                   <none>\n");
}

TEST(Render, ProbeJsonShape) {
  ProbeResult r{"x/a", "10.244.1.3", 80, "UDP", true, 1.23456, ""};
  EXPECT_EQ(probe_json(r), nlohmann::ordered_json::parse(
                               R"({"from":"x/a","to":"10.244.1.3","port":80,"protocol":"UDP","reachable":true,"ms":1.235})"));
  EXPECT_EQ(probe_line(r), "x/a -> 10.244.1.3 port 80/UDP: reachable (1.235 ms)");
  r.reachable = false;
  r.detail = "timeout";
  EXPECT_EQ(probe_line(r), "x/a -> 10.244.1.3 port 80/UDP: blocked (1.235 ms, timeout)");
}

Matrix sample_matrix() {
  Matrix m;
  m.port = 80;
  m.pods = {"x/a", "x/b", "y/long-name"};
  m.reachable["x/a"] = {{"x/a", true}, {"x/b", true}, {"y/long-name", false}};
  m.reachable["x/b"] = {{"x/a", false}, {"x/b", true}, {"y/long-name", true}};
  // y/long-name has no row at all: every cell is blocked.
  return m;
}

TrafficReport traffic_report() {
  TrafficReport r;
  r.from = "x/a";
  r.to = "x/server";
  r.interval_ms = 15;
  r.duration_ms = 2000.4;
  TrafficLoop tcp;
  tcp.port = 80;
  tcp.attempts = 130;
  tcp.ok = 129;
  tcp.max_ms = 4.25;
  tcp.failures = {{812.5, 1700000000812, "timeout"}};
  TrafficLoop udp = tcp;
  udp.protocol = "UDP";
  udp.ok = 130;
  udp.failures.clear();
  r.loops = {tcp, udp};
  r.connection = TrafficConnection{80, 130, 8320, 8320, 0, std::nullopt};
  return r;
}

TEST(Render, TrafficJsonShape) {
  TrafficReport r = traffic_report();
  EXPECT_EQ(traffic_json(r), nlohmann::ordered_json::parse(R"({"from":"x/a","to":"x/server","intervalMs":15,
    "durationMs":2000.4,"clean":false,"loops":[
    {"protocol":"TCP","port":80,"attempts":130,"ok":129,"failed":1,"maxMs":4.25,
     "failures":[{"atMs":812.5,"timeMs":1700000000812,"detail":"timeout"}]},
    {"protocol":"UDP","port":80,"attempts":130,"ok":130,"failed":0,"maxMs":4.25,"failures":[]}],
    "connection":{"port":80,"exchanges":130,"sentBytes":8320,"echoedBytes":8320,"retransmits":0,"failure":null}})"));
  r.connection.reset();
  EXPECT_TRUE(traffic_json(r)["connection"].is_null());
}

TEST(Render, TrafficCleanOnlyWithoutAnyFailure) {
  TrafficReport r = traffic_report();
  EXPECT_FALSE(r.clean());  // one TCP attempt failed
  r.loops[0].ok = r.loops[0].attempts;
  EXPECT_TRUE(r.clean());
  r.connection->retransmits = 1;  // a lost segment the retransmission hid
  EXPECT_FALSE(r.clean());
  r.connection->retransmits = 0;
  r.connection->failure = TrafficFailure{10, 0, "connection reset by peer"};
  EXPECT_FALSE(r.clean());
}

TEST(Render, TrafficText) {
  EXPECT_EQ(traffic_text(traffic_report()),
            "x/a -> x/server for 2.0 s, a new flow every 15 ms:\n"
            "  TCP/80  new connections  129 ok, 1 failed           slowest 4.2 ms\n"
            "  UDP/80  new flows        130 ok, 0 failed           slowest 4.2 ms\n"
            "  TCP/80  one connection   8320 of 8320 bytes echoed  0 retransmits, open\n"
            "  failed at +812 ms: TCP/80 timeout\n");
}

TEST(Render, MatrixGrid) {
  EXPECT_EQ(matrix_grid(sample_matrix()),
            "port 80/TCP (rows: from, columns: to; . reachable, X blocked)\n"
            "from \\ to    x/a  x/b  y/long-name\n"
            "x/a          .    .    X\n"
            "x/b          X    .    .\n"
            "y/long-name  X    X    X\n");
}

TEST(Render, MatrixJsonShape) {
  EXPECT_EQ(matrix_json(sample_matrix()), nlohmann::ordered_json::parse(R"({"port":80,"protocol":"TCP",
    "pods":["x/a","x/b","y/long-name"],
    "reachable":{"x/a":{"x/a":true,"x/b":true,"y/long-name":false},
                 "x/b":{"x/a":false,"x/b":true,"y/long-name":true},
                 "y/long-name":{"x/a":false,"x/b":false,"y/long-name":false}}})"));
}

}  // namespace
}  // namespace strand::lab

namespace strand::lab {
namespace {

TEST(Render, MatrixOfOneRow) {
  Matrix m = sample_matrix();
  m.rows = {"x/b"};
  EXPECT_EQ(matrix_json(m).dump(), R"({"port":80,"protocol":"TCP","pods":["x/a","x/b","y/long-name"],)"
                                   R"("reachable":{"x/b":{"x/a":false,"x/b":true,"y/long-name":true}}})");
  EXPECT_EQ(matrix_grid(m),
            "port 80/TCP (rows: from, columns: to; . reachable, X blocked)\n"
            "from \\ to  x/a  x/b  y/long-name\n"
            "x/b        X    .    .\n");
}

}  // namespace
}  // namespace strand::lab

namespace strand::lab {
namespace {

TEST(Render, MatrixCompactGroupsByNamespace) {
  EXPECT_EQ(matrix_compact(sample_matrix()),
            "x/a         .. X\n"
            "x/b         X. .\n"
            "y/long-name XX X\n");
  Matrix m = sample_matrix();
  m.rows = {"x/b"};
  EXPECT_EQ(matrix_compact(m), "x/b X. .\n");
}

}  // namespace
}  // namespace strand::lab
