#!/usr/bin/env bash
# Distributed testing with torchrun: GPUS processes on this node.
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# (NNODES, NODE_RANK, MASTER_ADDR, PORT as for tools/dist_train.sh)
SCRIPT=test.py exec bash "$(dirname "$0")/dist_train.sh" "$1" "$3" "$2" "${@:4}"
