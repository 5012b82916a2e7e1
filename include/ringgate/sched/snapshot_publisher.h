#pragma once
// Endpoint snapshots reach the workers through the one generic publisher
// (util::SnapshotPublisher, hazard-pointer RCU); see there for the contract.
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/util/snapshot_publisher.h"

namespace ringgate::sched {

using SnapshotPublisher = util::SnapshotPublisher<EndpointSnapshot>;

}  // namespace ringgate::sched
