#include "ringgate/epp/grpc_health_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "grpc/health/v1/health.grpc.pb.h"
#include "ringgate/epp/completion_tag.h"

namespace ringgate::epp {

namespace {

namespace health = grpc::health::v1;
using Service = health::Health::AsyncService;

}  // namespace

HealthBoard::Status HealthBoard::status_of(std::string_view service) const {
  if (service == "liveness") return Status::Serving;
  if (service.empty() || service == "readiness" || service == "inference-extension" ||
      service == "envoy.service.ext_proc.v3.ExternalProcessor")
    return serving.load(std::memory_order_relaxed) ? Status::Serving : Status::NotServing;
  return Status::ServiceUnknown;
}

struct GrpcHealthService::Impl {
  const HealthBoard& board;
  Service service;
};

GrpcHealthService::GrpcHealthService(const HealthBoard& board) : impl_(new Impl{board, {}}) {}
GrpcHealthService::~GrpcHealthService() = default;
grpc::Service* GrpcHealthService::service() { return &impl_->service; }

namespace {

health::HealthCheckResponse response_of(HealthBoard::Status status) {
  health::HealthCheckResponse response;
  response.set_status(health::HealthCheckResponse::ServingStatus(status));
  return response;
}

// One unary Check: accepted, answered, freed. An unknown service is NOT_FOUND (the protocol's).
class CheckCall final : public CompletionHandler {
 public:
  explicit CheckCall(GrpcHealthService::Thread& thread) : thread_(thread) {
    thread_.shared.service.RequestCheck(&ctx_, &request_, &responder_, &thread_.cq, &thread_.cq, &accept_tag_);
  }

  void on_event(uint8_t op, bool ok) override {
    if (op == kFinish || !ok) return delete this;  // answered, or the server is shutting down
    new CheckCall(thread_);                        // the next one on this thread
    const HealthBoard::Status status = thread_.shared.board.status_of(request_.service());
    if (status == HealthBoard::Status::ServiceUnknown) {
      responder_.FinishWithError(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"), &finish_tag_);
    } else {
      responder_.Finish(response_of(status), grpc::Status::OK, &finish_tag_);
    }
  }

 private:
  static constexpr uint8_t kAccept = 0, kFinish = 1;
  GrpcHealthService::Thread& thread_;
  grpc::ServerContext ctx_;
  health::HealthCheckRequest request_;
  grpc::ServerAsyncResponseWriter<health::HealthCheckResponse> responder_{&ctx_};
  CompletionTag accept_tag_{this, kAccept};
  CompletionTag finish_tag_{this, kFinish};
};

}  // namespace

// One Watch stream: the status now, then each change seen at a tick, until the client goes
// (or the server stops: then its last status and OK). One write in flight at a time.
struct GrpcHealthService::Thread::Watch final : CompletionHandler {
  explicit Watch(Thread& thread) : thread_(thread) {
    ctx_.AsyncNotifyWhenDone(&done_tag_);
    pending_ = 2;  // accept, done
    thread_.shared.service.RequestWatch(&ctx_, &request_, &writer_, &thread_.cq, &thread_.cq, &accept_tag_);
  }

  void on_event(uint8_t op, bool ok) override {
    --pending_;
    switch (op) {
      case kAccept:
        if (!ok) {  // shutting down: no call came, so no done notification will
          --pending_;
          break;
        }
        new Watch(thread_);
        open_ = true;
        thread_.watches.push_back(this);
        break;
      case kWrite:
        writing_ = false;
        if (!ok) close();
        break;
      case kFinish:
        break;
      case kDone:
        close();
        break;
    }
    if (open_) push();
    if (pending_ == 0) delete this;
  }

  // Writes the service's status when it differs from the last one written.
  void push() {
    if (writing_ || finished_) return;
    const HealthBoard& board = thread_.shared.board;
    const HealthBoard::Status status = board.status_of(request_.service());
    if (!sent_any_ || status != sent_) {
      sent_any_ = true;
      sent_ = status;
      writing_ = true;
      ++pending_;
      writer_.Write(response_of(status), &write_tag_);
    } else if (board.stopping.load(std::memory_order_relaxed)) {
      finished_ = true;
      ++pending_;
      writer_.Finish(grpc::Status::OK, &finish_tag_);
    }
  }

  void close() {
    if (!open_) return;
    open_ = false;
    auto& list = thread_.watches;
    list.erase(std::find(list.begin(), list.end(), this));
  }

  static constexpr uint8_t kAccept = 0, kWrite = 1, kFinish = 2, kDone = 3;
  Thread& thread_;
  grpc::ServerContext ctx_;
  health::HealthCheckRequest request_;
  grpc::ServerAsyncWriter<health::HealthCheckResponse> writer_{&ctx_};
  CompletionTag accept_tag_{this, kAccept};
  CompletionTag write_tag_{this, kWrite};
  CompletionTag finish_tag_{this, kFinish};
  CompletionTag done_tag_{this, kDone};
  int pending_ = 0;
  bool open_ = false;
  bool writing_ = false;
  bool finished_ = false;
  bool sent_any_ = false;
  HealthBoard::Status sent_ = HealthBoard::Status::ServiceUnknown;
};

GrpcHealthService::Thread::Thread(GrpcHealthService& owner, grpc::ServerCompletionQueue& queue)
    : shared(*owner.impl_), cq(queue) {
  new CheckCall(*this);
  new Watch(*this);
}

void GrpcHealthService::Thread::tick() {
  // push() can only start an operation: the list is not changed under the loop.
  for (Watch* watch : watches) watch->push();
}

}  // namespace ringgate::epp
