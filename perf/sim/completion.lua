-- wrk script: one small non-streaming completion per request (perf/sim/sim_rps.sh).
wrk.method = "POST"
wrk.path = "/v1/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"facebook/opt-125m","prompt":"Say hello to the ring gate, please.","max_tokens":8}'

local non_200 = 0
response = function(status, headers, body)
  if status ~= 200 then non_200 = non_200 + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-200 responses: %d (of %d)\n", non_200, summary.requests))
end
