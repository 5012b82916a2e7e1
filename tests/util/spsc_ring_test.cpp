#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "ringgate/util/spsc_ring.h"

using ringgate::util::SpscRing;

namespace {

// How many wake-ups the eventfd holds (0: none), reading it empty.
uint64_t wakes(int fd) {
  uint64_t n = 0;
  return read(fd, &n, sizeof n) == sizeof n ? n : 0;
}

void publish(SpscRing<int>& ring, int count) {
  for (int i = 0; i < count; ++i) {
    int* slot = ring.claim();
    REQUIRE(slot != nullptr);
    *slot = i;
    ring.commit();
  }
}

}  // namespace

TEST_CASE("a full ring drops and counts; draining frees every slot") {
  SpscRing<int> ring;
  CHECK(ring.claim() == nullptr);  // not enabled: dropped, not counted
  ring.enable(5);
  CHECK(ring.capacity() == 8);
  publish(ring, 8);
  CHECK(ring.claim() == nullptr);
  CHECK(ring.dropped() == 1);
  int sum = 0;
  CHECK(ring.drain([&](const int& v) { sum += v; }) == 8);
  CHECK(sum == 28);
  publish(ring, 8);  // the producer sees the freed slots (it re-reads the consumer's tail)
  CHECK(ring.dropped() == 1);
}

TEST_CASE("the consumer is woken once the ring is more than half full, and not before") {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  REQUIRE(fd >= 0);
  SpscRing<int> ring;
  ring.enable(16);
  ring.wake_when_half_full(fd);
  publish(ring, 8);  // half full: checked at 4 and 8, neither past half
  CHECK(wakes(fd) == 0);
  publish(ring, 3);  // 11: not a check point
  CHECK(wakes(fd) == 0);
  publish(ring, 1);  // 12: checked, past half
  CHECK(wakes(fd) == 1);
  ring.drain([](const int&) {});
  publish(ring, 4);  // 16 published, none waiting but these 4
  CHECK(wakes(fd) == 0);
  close(fd);
}
