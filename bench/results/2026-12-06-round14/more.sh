#!/bin/bash
# Round 14, more pairs for the two cells that missed 3x (t=2, 64 B and 4 KiB): repetitions 6-10, ABBA as inter.sh
J=/tmp/r14/bench/target/benchmarks.jar; OUT=data
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { name=$1; shift; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | X $*" >> $OUT/commands.txt; $XA $J "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; }
F2="-f 2 -wi 3 -w 1s -i 3 -r 1s"
for k in 6 7 8 9 10; do
  if [ $((k % 2)) = 1 ]; then order="nettyAdaptive slab4j"; else order="slab4j nettyAdaptive"; fi
  for size in 64 4096; do for b in $order; do
    run pair-t2-$size-$k-$b "BufferPoolBench\.$b\$" -p size=$size $F2 -t 2
  done; done
done
echo "$(date -u +%H:%M:%S) MOREDONE" >> $OUT/commands.txt
