#include "ringgate/control/shared_responses.h"

#include "ringgate/control/response_payload.h"

namespace ringgate::control {

StreamAppend ResponseStream::append(std::string& entry, size_t max_bytes, const proxy::ResponseRecord& record,
                                    const sched::EndpointSnapshot&) {
  const std::string_view id = record.id_view();
  if (entry.size() + response_record_bytes(id.size()) > max_bytes ||
      !append_response(entry, id, record.server, record.forget))
    return StreamAppend::Dropped;
  return StreamAppend::Sent;
}

bool ResponseStream::apply(std::string_view payload, uint64_t& received) {
  size_t at = 0;
  ResponseChange change;
  for (;;) {
    const PayloadStep step = next_response(payload, at, change);
    if (step != PayloadStep::Record) {
      arrivals_.wake();
      return step == PayloadStep::End;
    }
    if (change.forget) {
      table_.forget(change.id);
    } else if (table_.learn(change.id, change.server)) {
      arrivals_.arrived(change.id);  // after the table has it (response_arrivals.h)
    }
    ++received;
  }
}

}  // namespace ringgate::control
