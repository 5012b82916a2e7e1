#include "ringgate/proxy/hedge_race.h"

#include <cassert>

namespace ringgate::proxy {

void HedgeRace::begin() {
  assert(!racing_ && "a hedge while racing");
  racing_ = true;
  for (RaceSide& side : sides_) {
    side.head.clear();
    side.held.clear();
  }
}

bool HedgeRace::hold(const Attempt& attempt, std::string_view decoded) {
  RaceSide& held = side(attempt);
  if (held.head.empty() || decoded.empty()) return false;
  held.held += decoded;
  return race_decided(held.held);
}

RaceSide& HedgeRace::end(Attempt& kept, HedgeResult result) {
  assert(racing_ && "a race ended twice");
  racing_ = false;
  Attempt& cancelled = rival(kept);
  cancelled.end(false, /*keep_body=*/&cancelled == &*primary_);
  lead_ = &kept;
  env_.counters->hedged_requests[size_t(result)].add();
  return side(kept);
}

void HedgeRace::end_lead(bool reusable, bool keep_body) {
  if (racing_) end(*lead_, HedgeResult::Abandoned);  // the request ends before either streamed
  lead_->end(reusable, keep_body);
}

}  // namespace ringgate::proxy
