#!/usr/bin/env bash
# Distributed training with torchrun: GPUS processes on this node.
#   bash tools/dist_train.sh CONFIG GPUS [train.py options]
# Several nodes: run it on each with NNODES, NODE_RANK, MASTER_ADDR set.
# SCRIPT=test.py runs tools/test.py instead (that is tools/dist_test.sh).
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
SCRIPT=${SCRIPT:-train.py}

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/$SCRIPT" "$CONFIG" "${@:3}" --launcher pytorch
