// The floor under EPP mode's decision: an ext-proc server on the same grpc++ library, the
// same threading (one completion queue, one thread) and the same answers in number and
// size as `ringgate --mode epp` (the pick in the headers' answer, the body streamed back,
// each response message echoed, OK at the half-close), but no parsing, scheduling or
// accounting. epp_bench against it shows what gRPC alone costs on this machine:
//   build/perf/ext_proc_floor --listen 127.0.0.1:9003 &
//   build/perf/epp_bench --epp 127.0.0.1:9003
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <string>

#include "envoy/service/ext_proc/v3/external_processor.grpc.pb.h"

namespace extproc = envoy::service::ext_proc::v3;
using Service = extproc::ExternalProcessor::AsyncService;

namespace {

class Call;
struct Tag {
  enum class Op : uint8_t { Accept, Read, Write, Finish };
  Call* call;
  Op op;
};

void set_header(extproc::HeaderMutation* m, const char* key, const std::string& value) {
  auto* option = m->add_set_headers();
  option->mutable_header()->set_key(key);
  option->mutable_header()->set_raw_value(value);
}

// One stream: a read always pending until the half-close, one write at a time.
class Call {
 public:
  Call(Service& service, grpc::ServerCompletionQueue& cq) : service_(service), cq_(cq) {
    service_.RequestProcess(&ctx_, &rw_, &cq_, &cq_, &accept_);
  }

  void on_event(Tag::Op op, bool ok) {
    switch (op) {
      case Tag::Op::Accept:
        if (!ok) return delete this;
        new Call(service_, cq_);
        rw_.Read(&in_, &read_);
        return;
      case Tag::Op::Read:
        if (!ok) {
          closed_ = true;
          break;
        }
        answer();
        rw_.Read(&in_, &read_);
        break;
      case Tag::Op::Write:
        writing_ = false;
        out_.pop_front();
        break;
      case Tag::Op::Finish:
        return delete this;
    }
    if (writing_) return;
    if (!out_.empty()) {
      writing_ = true;
      rw_.Write(out_.front(), &write_);
    } else if (closed_) {
      rw_.Finish(grpc::Status::OK, &finish_);
    }
  }

 private:
  void answer() {
    switch (in_.request_case()) {
      case extproc::ProcessingRequest::kRequestHeaders:
        break;  // answered with the body
      case extproc::ProcessingRequest::kRequestBody: {
        extproc::ProcessingResponse& pick = out_.emplace_back();
        auto* common = pick.mutable_request_headers()->mutable_response();
        common->set_clear_route_cache(true);
        set_header(common->mutable_header_mutation(), "x-gateway-destination-endpoint", "127.0.0.1:8000");
        set_header(common->mutable_header_mutation(), "content-length",
                   std::to_string(in_.request_body().body().size()));
        (*(*pick.mutable_dynamic_metadata()->mutable_fields())["envoy.lb"]
              .mutable_struct_value()
              ->mutable_fields())["x-gateway-destination-endpoint"]
            .set_string_value("127.0.0.1:8000");
        auto* chunk = out_.emplace_back()
                          .mutable_request_body()
                          ->mutable_response()
                          ->mutable_body_mutation()
                          ->mutable_streamed_response();
        chunk->set_body(in_.request_body().body());
        chunk->set_end_of_stream(true);
        break;
      }
      case extproc::ProcessingRequest::kResponseHeaders:
        out_.emplace_back().mutable_response_headers();
        break;
      case extproc::ProcessingRequest::kResponseBody: {
        auto* chunk = out_.emplace_back()
                          .mutable_response_body()
                          ->mutable_response()
                          ->mutable_body_mutation()
                          ->mutable_streamed_response();
        chunk->set_body(in_.response_body().body());
        chunk->set_end_of_stream(in_.response_body().end_of_stream());
        break;
      }
      default:
        break;
    }
  }

  Service& service_;
  grpc::ServerCompletionQueue& cq_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReaderWriter<extproc::ProcessingResponse, extproc::ProcessingRequest> rw_{&ctx_};
  extproc::ProcessingRequest in_;
  std::deque<extproc::ProcessingResponse> out_;
  bool writing_ = false;
  bool closed_ = false;

 public:
  Tag accept_{this, Tag::Op::Accept};
  Tag read_{this, Tag::Op::Read};
  Tag write_{this, Tag::Op::Write};
  Tag finish_{this, Tag::Op::Finish};
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:9003";
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::strcmp(argv[i], "--listen") == 0) listen = argv[i + 1];
  Service service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::ServerCompletionQueue> cq = builder.AddCompletionQueue();
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("listening on port %d\n", port);
  std::fflush(stdout);
  new Call(service, *cq);
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) {
    Tag* t = static_cast<Tag*>(tag);
    t->call->on_event(t->op, ok);
  }
  return 0;
}
