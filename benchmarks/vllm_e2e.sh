#!/usr/bin/env bash
# The nl2query LLM path end to end against a real vLLM server: start vLLM's OpenAI-compatible
# server on a model, run benchmarks/nl_llm.py against it (all dev items with several questions in
# flight, then a sequential sample for latency), stop the server. For the hospital's GPU host (see
# docs/llm.md) or a lent GPU machine. Nothing in the test suite needs it.
#
#   MODEL=/models/Qwen2.5-7B-Instruct DEV=../shared/eval/nl/dev.jsonl bash benchmarks/vllm_e2e.sh
#
# Settings (environment):
#   MODEL                   model folder, Hugging Face id or .gguf file (required)
#   DEV                     the nl dev set's dev.jsonl, with data/ and score.py beside it (required)
#   OUT                     folder for vllm.log, items-*.jsonl and RESULTS-nl-llm.md (./vllm-e2e)
#   MODEL_DESC              how the report names the model (default: MODEL)
#   VLLM_PYTHON, VLLM_ENV   the python that has vllm (python3) and extra environment for it,
#                           e.g. VLLM_ENV="PYTHONPATH=/opt/vllm-site"
#   APP_PYTHON, APP_ENV     the python that has ehr-bridge's dependencies (python3), likewise
#   TOKENIZER               --tokenizer for vLLM (GGUF files: a folder with tokenizer.json)
#   PORT 8001, MAX_MODEL_LEN 4096, GPU_MEMORY_UTILIZATION 0.5, VLLM_ARGS (more vllm flags)
#   START_TIMEOUT 600       seconds to wait for the server to answer /v1/models
#   CONCURRENCY 8           questions in flight in the all-items run
#   SEQ_STRIDE 5            the sequential run takes every Nth item (0 skips it)
#   QUESTION_TIMEOUT 60     timeout of one LLM request (seconds)
set -euo pipefail
: "${MODEL:?set MODEL}" "${DEV:?set DEV}"
OUT=${OUT:-./vllm-e2e}
PORT=${PORT:-8001}
VLLM_PYTHON=${VLLM_PYTHON:-python3}
APP_PYTHON=${APP_PYTHON:-python3}
CONCURRENCY=${CONCURRENCY:-8}
SEQ_STRIDE=${SEQ_STRIDE:-5}
mkdir -p "$OUT"
here=$(cd "$(dirname "$0")/.." && pwd)
url="http://127.0.0.1:$PORT"

tok_args=()
[ -n "${TOKENIZER:-}" ] && tok_args=(--tokenizer "$TOKENIZER")
# shellcheck disable=SC2086  # VLLM_ENV and VLLM_ARGS are word lists on purpose
env ${VLLM_ENV:-} "$VLLM_PYTHON" -m vllm.entrypoints.openai.api_server \
    --model "$MODEL" "${tok_args[@]}" --served-model-name local-model \
    --host 127.0.0.1 --port "$PORT" --max-model-len "${MAX_MODEL_LEN:-4096}" \
    --gpu-memory-utilization "${GPU_MEMORY_UTILIZATION:-0.5}" ${VLLM_ARGS:-} \
    >"$OUT/vllm.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT

t0=$(date +%s.%N)
until "$APP_PYTHON" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
    "$url/v1/models" 2>/dev/null; do
    if ! kill -0 $server 2>/dev/null; then
        echo "vLLM exited before it answered; the end of $OUT/vllm.log:" >&2
        tail -40 "$OUT/vllm.log" >&2
        exit 1
    fi
    if (($(date +%s) - ${t0%.*} > ${START_TIMEOUT:-600})); then
        echo "vLLM did not answer within ${START_TIMEOUT:-600} s; the end of $OUT/vllm.log:" >&2
        tail -40 "$OUT/vllm.log" >&2
        exit 1
    fi
    sleep 1
done
start_s=$("$APP_PYTHON" -c "import sys,time; print(round(time.time() - float(sys.argv[1]), 1))" "$t0")
version=$("$APP_PYTHON" -c "import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))['version'])" "$url/version" || echo "?")
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo "?")
desc="${MODEL_DESC:-$MODEL} on vLLM $version ($gpu)"
echo "vLLM $version answered after $start_s s on $gpu"

bench() {
    # shellcheck disable=SC2086
    env ${APP_ENV:-} "$APP_PYTHON" "$here/benchmarks/nl_llm.py" --dev "$DEV" \
        --base-url "$url/v1" --model local-model --timeout "${QUESTION_TIMEOUT:-60}" \
        --model-desc "$desc" --server-start-s "$start_s" --out "$OUT/RESULTS-nl-llm.md" "$@"
}
bench --concurrency "$CONCURRENCY" --jsonl "$OUT/items-concurrent.jsonl" \
    --label "GPU: $desc, all items, $CONCURRENCY in flight"
if [ "$SEQ_STRIDE" -gt 0 ]; then
    bench --concurrency 1 --stride "$SEQ_STRIDE" --jsonl "$OUT/items-sequential.jsonl" \
        --label "GPU: $desc, every ${SEQ_STRIDE}th item, one at a time"
fi
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv >"$OUT/gpu.csv" 2>/dev/null || true
