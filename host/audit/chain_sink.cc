#include "audit/chain_sink.h"

namespace hive::audit {

void ChainSink::sink_it_(const spdlog::details::log_msg& msg) {
    pending_.emplace_back(msg.payload.data(), msg.payload.size());
}

void ChainSink::flush_() {
    if (pending_.empty()) return;
    Status st = log_.append(stream_, pending_);
    if (!st.ok()) errors_.push_back(st.error().message);
    pending_.clear();
}

}  // namespace hive::audit
