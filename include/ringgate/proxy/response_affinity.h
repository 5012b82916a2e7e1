#pragma once
// Responses API state for one request (issue 49). vLLM keeps a stored response (and
// every background one) in the memory of the API server that made it, so:
//   - a request that names a response (previous_response_id in a POST /v1/responses;
//     GET, DELETE and POST .../cancel of /v1/responses/{id}) must go to the server that
//     holds it: pinned, whatever its load or health (a draining server still has it);
//     if that server is gone, the client gets a 404 (previous_response_not_found, or
//     response_not_found for the paths), never an answer from another server that never
//     had the response;
//   - the id of each answer to a POST /v1/responses is learned (the root "id" of a JSON
//     answer, the response.created event of a stream) into the shared ResponseTable, as
//     held by the server that answered.
// What is learned and forgotten also goes to the worker's response ring, for the other
// gateway replicas (sharedState). A request naming an id the table does not know may wait
// for them to tell it (proxy/response_wait.h: find_again()). After that, a
// previous_response_id the table does not know (learned by no one, or forgotten beyond
// its bounds) is routed as any request is, and the server's own 404 speaks; an unknown
// /v1/responses/{id} is the gateway's 404. Bad input: an id longer
// than openai::kMaxResponseIdBytes or with control bytes is a 400.
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/openai/api_routes.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/openai/response_id_scanner.h"
#include "ringgate/proxy/response_record.h"
#include "ringgate/proxy/response_table.h"

namespace ringgate::proxy {

// A request the affinity refuses (400) or cannot place (404); status 0: none.
struct AffinityError {
  int status = 0;
  std::string_view code;
  std::string_view message;
};

class ResponseAffinity {
 public:
  static constexpr std::string_view kPreviousNotFound = "previous_response_not_found";
  static constexpr std::string_view kResponseNotFound = "response_not_found";

  // A new request (its body read): whether it names a response, and where that is.
  // `table` null: no table (every request routed as before); `ring` null: nothing shared.
  AffinityError begin(ResponseTable* table, ResponseRing* ring, const openai::ApiRoute& route, std::string_view target,
                      const openai::RequestFields& fields, bool is_delete);
  // Names a response the table does not know (yet).
  bool unplaced() const { return table_ != nullptr && !id_.empty() && !pinned_; }
  // Looks the response up again (another replica may have told the table since); true: pinned now.
  bool find_again();
  // The request must go to this server (an address hash).
  bool pinned() const { return pinned_; }
  // A create whose answer the table learns: not hedged, as a second server would store a
  // second response, and the race's winner would have to be learned from held bytes.
  bool learns_answer() const { return table_ != nullptr && creates_; }
  uint64_t server() const { return server_; }
  bool names_response() const { return !id_.empty(); }
  std::string_view id() const { return id_; }
  // A /v1/responses/{id} path whose response no server is known to hold: answered 404 by
  // the gateway (asking a server at random would find it 1 time in N).
  bool unknown_path() const { return is_path_ && !pinned_; }
  AffinityError unknown() const {
    return {404, kResponseNotFound, "no model server is known to hold this response"};
  }
  // The 404 for a pinned request whose server is gone (not in the pool, or refusing connections).
  AffinityError gone() const;

  // The answer's head: a 2xx answer to a create is scanned for its id; a 2xx to a DELETE
  // forgets the id.
  void answer_started(int status, bool event_stream, uint64_t server);
  // The answer's bytes (decoded): the id, once found, is learned (true: learned now).
  bool answer_bytes(std::string_view decoded);

 private:
  ResponseTable* table_ = nullptr;
  ResponseRing* ring_ = nullptr;
  bool creates_ = false;   // POST /v1/responses: its answer names a new response
  bool is_path_ = false;   // /v1/responses/{id}...
  bool is_delete_ = false;
  bool pinned_ = false;
  bool scanning_ = false;
  uint64_t server_ = 0;     // the pinned server
  uint64_t answered_by_ = 0;
  std::string id_;  // the response the request names
  openai::ResponseIdScanner scanner_;
};

}  // namespace ringgate::proxy
