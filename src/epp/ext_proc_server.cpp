#include "ringgate/epp/ext_proc_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <deque>

#include "envoy/service/ext_proc/v3/external_processor.grpc.pb.h"
#include "ringgate/epp/completion_tag.h"
#include "ringgate/epp/ext_proc_stream.h"
#include "ringgate/epp/grpc_health_service.h"

namespace ringgate::epp {

namespace {

using Service = envoy::service::ext_proc::v3::ExternalProcessor::AsyncService;
using extproc::ProcessingRequest;
using extproc::ProcessingResponse;

constexpr auto kTick = std::chrono::milliseconds(100);

// One Process stream on one thread: at most one read and one write in flight (gRPC's
// rule), Finish only once no write is, and freed when every operation has come back.
// A held stream (no server for its model yet) keeps its read pending and writes nothing
// until the hold answers it (stream_answered); a cancel takes it out of the hold at once.
class Call final : public CompletionHandler, public StreamOwner {
  enum Op : uint8_t { Accept, Read, Write, Finish, Done };

 public:
  Call(Service& service, grpc::ServerCompletionQueue& cq, EppWorker& worker)
      : service_(service), cq_(cq), worker_(worker), stream_(worker, this) {
    ctx_.AsyncNotifyWhenDone(&done_tag_);
    ++pending_;  // done
    ++pending_;  // accept
    service_.RequestProcess(&ctx_, &rw_, &cq_, &cq_, &accept_tag_);
  }

  void on_event(uint8_t op, bool ok) override {
    --pending_;
    switch (Op(op)) {
      case Accept:
        if (!ok) {  // the server is shutting down: no call came, so no done notification will
          --pending_;
          break;
        }
        accepted_ = true;
        new Call(service_, cq_, worker_);  // the next stream on this thread
        read();
        break;
      case Read:
        reading_ = false;
        if (!ok) {  // the Gateway half-closed (or went away: then done_tag_ says cancelled)
          if (stream_.on_peer_closed()) finish(grpc::Status::OK);  // else held: the answer comes later
          break;
        }
        out_scratch_.clear();
        stream_.on_request(in_, out_scratch_);
        for (ProcessingResponse& r : out_scratch_) out_.push_back(std::move(r));
        if (stream_.end() == StreamEnd::Open) read();
        else finish(status_of(stream_));
        break;
      case Write:
        writing_ = false;
        out_.pop_front();
        if (!ok) {  // the stream is gone: nothing more will be written
          out_.clear();
          stream_.on_peer_gone();
          finish(grpc::Status::CANCELLED);
        }
        break;
      case Finish:
        break;
      case Done:
        done_ = true;
        if (ctx_.IsCancelled()) {
          // A held one leaves the hold now; a pending read's failure finishes the call.
          stream_.on_peer_gone();
          if (!reading_) finish(grpc::Status::CANCELLED);
        }
        break;
    }
    pump();
    if (pending_ == 0) delete this;
  }

  // StreamOwner: the hold answered the stream (from the thread's loop, outside on_event).
  void stream_answered() override {
    answered_scratch_.clear();
    stream_.take_answers(answered_scratch_);
    for (ProcessingResponse& r : answered_scratch_) out_.push_back(std::move(r));
    if (stream_.end() != StreamEnd::Open) finish(status_of(stream_));
    pump();
  }

  CompletionTag accept_tag_{this, Accept};
  CompletionTag read_tag_{this, Read};
  CompletionTag write_tag_{this, Write};
  CompletionTag finish_tag_{this, Finish};
  CompletionTag done_tag_{this, Done};

 private:
  static grpc::Status status_of(const ExtProcStream& stream) {
    switch (stream.end()) {
      case StreamEnd::Open:
      case StreamEnd::Ok: return grpc::Status::OK;
      case StreamEnd::InvalidArgument:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(stream.end_message()));
      case StreamEnd::Unimplemented:
        return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, std::string(stream.end_message()));
    }
    return grpc::Status::OK;
  }

  void read() {
    if (finishing_ || reading_) return;
    reading_ = true;
    ++pending_;
    rw_.Read(&in_, &read_tag_);
  }

  void finish(const grpc::Status& status) {
    if (finishing_) return;
    finishing_ = true;
    final_ = status;
  }

  void pump() {
    if (!accepted_ || writing_ || finish_sent_) return;
    if (!out_.empty()) {
      writing_ = true;
      ++pending_;
      rw_.Write(out_.front(), &write_tag_);
      return;
    }
    if (finishing_) {
      finish_sent_ = true;
      ++pending_;
      rw_.Finish(final_, &finish_tag_);
    }
  }

  Service& service_;
  grpc::ServerCompletionQueue& cq_;
  EppWorker& worker_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReaderWriter<ProcessingResponse, ProcessingRequest> rw_{&ctx_};
  ProcessingRequest in_;
  std::vector<ProcessingResponse> out_scratch_;
  std::vector<ProcessingResponse> answered_scratch_;
  std::deque<ProcessingResponse> out_;
  ExtProcStream stream_;
  grpc::Status final_;
  int pending_ = 0;
  bool accepted_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool finishing_ = false;
  bool finish_sent_ = false;
  bool done_ = false;
};

}  // namespace

struct ExtProcServer::Impl {
  std::unique_ptr<CheckedCertFiles> cert_files;  // --enable-cert-reload; outlives the server below
  Service service;
  HealthBoard health_board;
  GrpcHealthService health{health_board};
  std::unique_ptr<grpc::Server> server;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
};

ExtProcServer::ExtProcServer(ExtProcServerOptions options) : options_(std::move(options)), impl_(new Impl) {
  options_.worker.workers = std::max(1u, options_.threads);
  for (unsigned i = 0; i < std::max(1u, options_.threads); ++i)
    workers_.push_back(std::make_unique<EppWorker>(options_.worker, int(i)));
}

ExtProcServer::~ExtProcServer() { stop(0); }

std::string ExtProcServer::start() {
  grpc::EnableDefaultHealthCheckService(false);  // served on the ext-proc threads instead
  grpc::ServerBuilder builder;
  int port = 0, health_port = 0;
  auto credentials = ext_proc_credentials(options_.tls, transport_, impl_->cert_files);
  if (!credentials) return "ext-proc TLS: " + credentials.error().message;
  builder.AddListeningPort(options_.listen.to_string(), credentials.value(), &port);
  // One address for both: one port. Two asks for an ephemeral port (":0", as the chart's
  // --grpc-port 0 --grpc-health-port 0 would be) are two ports, as the Go EPP binds them.
  const bool separate_health =
      options_.health_listen.to_string() != options_.listen.to_string() || options_.listen.port() == 0;
  if (separate_health)
    builder.AddListeningPort(options_.health_listen.to_string(), grpc::InsecureServerCredentials(), &health_port);
  builder.RegisterService(&impl_->service);
  builder.RegisterService(impl_->health.service());
  // A BUFFERED body arrives as one message: the body limit plus room for the framing.
  const size_t body_limit = options_.worker.options.limits.max_body_bytes;
  builder.SetMaxReceiveMessageSize(int(std::min<size_t>(body_limit + (64u << 10), INT32_MAX)));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams);
  for (size_t i = 0; i < workers_.size(); ++i) impl_->queues.push_back(builder.AddCompletionQueue());
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || port == 0 || (separate_health && health_port == 0)) {
    impl_->server.reset();
    return "cannot listen for ext-proc on " + options_.listen.to_string() +
           (separate_health ? " / health on " + options_.health_listen.to_string() : std::string());
  }
  address_ = options_.listen;
  address_.sin.sin_port = htons(uint16_t(port));  // sin_port and sin6_port share their offset
  health_address_ = separate_health ? options_.health_listen : address_;
  if (separate_health) health_address_.sin.sin_port = htons(uint16_t(health_port));
  for (size_t i = 0; i < workers_.size(); ++i) {
    threads_.emplace_back([this, i] {
      grpc::ServerCompletionQueue& cq = *impl_->queues[i];
      EppWorker& worker = *workers_[i];
      GrpcHealthService::Thread health(impl_->health, cq);
      new Call(impl_->service, cq, worker);
      auto next_tick = std::chrono::system_clock::now() + kTick;
      for (;;) {
        void* tag = nullptr;
        bool ok = false;
        const auto status = cq.AsyncNext(&tag, &ok, next_tick);
        if (status == grpc::CompletionQueue::SHUTDOWN) break;
        if (std::chrono::system_clock::now() >= next_tick) {
          worker.tick();
          if (i == 0 && options_.ready && !impl_->health_board.stopping.load()) {
            const bool ready = options_.ready();
            set_serving(ready);
          }
          health.tick();
          next_tick = std::chrono::system_clock::now() + kTick;
        }
        if (status == grpc::CompletionQueue::TIMEOUT) continue;
        worker.refresh();
        CompletionTag* t = static_cast<CompletionTag*>(tag);
        t->handler->on_event(t->op, ok);
      }
    });
  }
  return {};
}

void ExtProcServer::set_serving(bool serving) { impl_->health_board.serving.store(serving, std::memory_order_relaxed); }

void ExtProcServer::stop(uint32_t drain_ms) {
  if (stopped_ || !impl_->server) return;
  stopped_ = true;
  set_serving(false);
  impl_->health_board.stopping.store(true);
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(drain_ms));
  for (auto& q : impl_->queues) q->Shutdown();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace ringgate::epp
