#!/bin/bash
# usage: inter.sh JAR OUTDIR [REPS]
# Round 12: the ratio goals judged on many short pairs instead of one long run. For each thread count
# and size, adaptive and slab4j run back to back (2 forks each, ~15 s per run), the order swapped
# on every repetition (ABBA), so each ratio compares two runs seconds apart and a drift of the
# machine's speed does not favour one side. Then the p99.9 tail the same way (slab4j, adaptive,
# pooled, one fork each, order rotated).
J=$1; OUT=$2; REPS=${3:-5}; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { name=$1; shift; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | X $*" >> $OUT/commands.txt; $XA $J "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; }
F2="-f 2 -wi 3 -w 1s -i 3 -r 1s"
for k in $(seq 1 $REPS); do
  if [ $((k % 2)) = 1 ]; then order="nettyAdaptive slab4j"; else order="slab4j nettyAdaptive"; fi
  for t in 1 2; do for size in 64 4096 65536 1048576; do for b in $order; do
    run pair-t$t-$size-$k-$b "BufferPoolBench\.$b\$" -p size=$size $F2 -t $t
  done; done; done
done
for k in $(seq 1 $REPS); do
  case $((k % 3)) in 1) order="slab4j nettyAdaptive nettyPooled";; 2) order="nettyAdaptive nettyPooled slab4j";; 0) order="nettyPooled slab4j nettyAdaptive";; esac
  for b in $order; do
    run tail-$k-$b "BufferPoolBench\.$b\$" -p size=4096,65536 -bm sample -tu ns -f 1 -wi 3 -w 1s -i 5 -r 1s -t 1
  done
done
echo "$(date -u +%H:%M:%S) ALLDONE" >> $OUT/commands.txt
