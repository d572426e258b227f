#!/bin/bash
# Round 11, interleaved: adaptive and slab4j alternate in short runs (2 forks each), three times per size and thread count,
# so each ratio compares runs minutes apart at most, not the two ends of a 5-minute run on a machine whose speed drifts.
J=$1; OUT=$2; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
for t in 2; do for size in 64 4096; do for k in 1 2 3; do for b in nettyAdaptive slab4j; do
  name=inter-t$t-$size-$k-$b
  echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | X 'BufferPoolBench\.$b\$' -p size=$size -f 2 -wi 3 -w 1s -i 3 -r 1s -t $t" >> $OUT/commands.txt
  $XA $J "BufferPoolBench\.$b\$" -p size=$size -f 2 -wi 3 -w 1s -i 3 -r 1s -t $t -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1
done; done; done; done
echo ALLDONE >> $OUT/commands.txt
