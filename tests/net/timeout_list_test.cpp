#include <doctest/doctest.h>

#include <vector>

#include "ringgate/net/timeout_list.h"

using namespace ringgate::net;

namespace {
struct Recorder : TimerTarget {
  std::vector<int> fired;
  void on_timer(Timer& t) override { fired.push_back(t.id()); }
};
}  // namespace

TEST_CASE("timers of one duration fire in arming order; lists per duration") {
  Recorder r;
  Timers timers;
  Timer a(&r, 1), b(&r, 2), c(&r, 3);
  timers.arm(a, 100, 0);
  timers.arm(b, 100, 10);
  timers.arm(c, 50, 20);
  CHECK(timers.list_count() == 2);
  CHECK(timers.next_expiry() == 70);
  timers.run(69);
  CHECK(r.fired.empty());
  timers.run(100);
  CHECK(r.fired == std::vector<int>{1, 3});
  CHECK(!a.armed());
  CHECK(b.armed());
  timers.run(110);
  CHECK(r.fired == std::vector<int>{1, 3, 2});
  CHECK(timers.next_expiry() == UINT64_MAX);
}

TEST_CASE("cancel and re-arm are O(1) unlinks; a destroyed timer leaves its list") {
  Recorder r;
  Timers timers;
  Timer a(&r, 1);
  {
    Timer gone(&r, 9);
    timers.arm(gone, 10, 0);
  }
  timers.arm(a, 10, 0);
  timers.arm(a, 10, 5);  // re-armed: moves to the tail with a later expiry
  timers.run(10);
  CHECK(r.fired.empty());
  a.cancel();
  timers.run(100);
  CHECK(r.fired.empty());
  timers.arm(a, 0, 0);  // 0 = cancel
  CHECK(!a.armed());
}

TEST_CASE("a callback may re-arm into the list being run; it fires next time, not now") {
  struct Again : TimerTarget {
    Timers* timers;
    int count = 0;
    void on_timer(Timer& t) override {
      ++count;
      timers->arm(t, 10, 100);
    }
  } again;
  Timers timers;
  again.timers = &timers;
  Timer t(&again, 0);
  timers.arm(t, 10, 90);
  timers.run(100);
  CHECK(again.count == 1);
  CHECK(t.expires_at() == 110);
}
