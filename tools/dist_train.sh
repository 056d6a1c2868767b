#!/usr/bin/env bash
# Distributed training with torchrun: GPUS processes on this node.
#   bash tools/dist_train.sh CONFIG GPUS [train.py options]
# Several nodes: run it on each with NNODES, NODE_RANK, MASTER_ADDR set
# (defaults 1, 0, 127.0.0.1); PORT (29500) and PYTHON (python) as needed.
# SCRIPT=test.py runs tools/test.py instead (that is tools/dist_test.sh).
CONFIG=$1
GPUS=$2

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$GPUS" \
    --master_port="${PORT:-29500}" \
    "$(dirname "$0")/${SCRIPT:-train.py}" "$CONFIG" "${@:3}" --launcher pytorch
