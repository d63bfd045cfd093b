#!/usr/bin/env bash
# Builds the routing plugins as WebAssembly components into target/wasm32-wasip2/plugin/:
# severity_router.wasm, escalation_policy.wasm, replica_dedup.wasm and team_ownership.wasm (the
# shipped examples) and hostile_plugin.wasm (for the fault and platform tests).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2
cargo build --target wasm32-wasip2 --profile plugin -p severity-router -p escalation-policy -p replica-dedup -p team-ownership -p hostile-plugin
ls -l target/wasm32-wasip2/plugin/severity_router.wasm target/wasm32-wasip2/plugin/escalation_policy.wasm target/wasm32-wasip2/plugin/replica_dedup.wasm target/wasm32-wasip2/plugin/team_ownership.wasm target/wasm32-wasip2/plugin/hostile_plugin.wasm
