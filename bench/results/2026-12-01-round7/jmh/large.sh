#!/bin/bash
# usage: large.sh OUTDIR THREADS FORKS JAR_OLD JAR_NEW : the 1 MiB rows of BufferPool and the adapter, jars alternating old/new/old/new
OUT=$1; T=$2; F=$3; shift 3; mkdir -p $OUT
i=0
for round in 1 2; do for J in "$@"; do i=$((i+1))
  n=$(basename $(dirname $(dirname $(dirname $J))))
  echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | t$T-$i | $n | X 'BufferPoolBench\.(slab4j|nettyAdaptive)\$|NettyAllocatorBench\.allocateRelease\$' -p size=1048576 -p allocator=slab4j,nettyAdaptive -f $F -wi 3 -w 1s -i 3 -r 1s -t $T" >> $OUT/commands.txt
  java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar $J 'BufferPoolBench\.(slab4j|nettyAdaptive)$|NettyAllocatorBench\.allocateRelease$' -p size=1048576 -p allocator=slab4j,nettyAdaptive -f $F -wi 3 -w 1s -i 3 -r 1s -t $T -rf json -rff $OUT/t$T-$i.json > $OUT/t$T-$i.txt 2>&1
done; done
echo ALLDONE >> $OUT/commands.txt
