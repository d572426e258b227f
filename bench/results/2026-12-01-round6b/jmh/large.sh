#!/bin/bash
# usage: large.sh OUTDIR JAR_OLD JAR_NEW : 1 MiB rows, old/new/old/new, t=1
OUT=$1; shift; mkdir -p $OUT
i=0
for round in 1 2; do for J in "$@"; do i=$((i+1))
  n=$(basename $(dirname $(dirname $(dirname $J))))
  echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | large-$i | $n | X 'BufferPoolBench\.(slab4j|nettyAdaptive)\$|NettyAllocatorBench\.allocateRelease\$' -p size=1048576 -p allocator=slab4j,nettyAdaptive -f 2 -wi 3 -w 1s -i 3 -r 1s -t 1" >> $OUT/commands.txt
  java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar $J 'BufferPoolBench\.(slab4j|nettyAdaptive)$|NettyAllocatorBench\.allocateRelease$' -p size=1048576 -p allocator=slab4j,nettyAdaptive -f 2 -wi 3 -w 1s -i 3 -r 1s -t 1 -rf json -rff $OUT/large-$i.json > $OUT/large-$i.txt 2>&1
done; done
echo ALLDONE >> $OUT/commands.txt
