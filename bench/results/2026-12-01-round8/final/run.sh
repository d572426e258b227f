#!/bin/bash
# usage: run.sh JAR OUTDIR OLDJAR
# Round 8, after review 8: JAR is the clean-clone jar of the head (c4262ba, releaseRaw's range
# check on the fast path), OLDJAR the round's jar (dc00bf1); then the p99.9 tail of BufferPool.
J=$1; OUT=$2; OLD=$3; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { jar=$1; name=$2; shift 2; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | $jar | X $*" >> $OUT/commands.txt; $XA $jar "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
F2="-f 2 -wi 3 -w 1s -i 3 -r 1s"
NA='NettyAllocatorBench\.allocateRelease$'
for k in 1 2; do
  run $OLD netty-t2-old-$k "$NA" -p size=64,4096 -p allocator=slab4j,nettyAdaptive $F2 -t 2
  run $J   netty-t2-new-$k "$NA" -p size=64,4096 -p allocator=slab4j,nettyAdaptive $F2 -t 2
done
run $J buffer-sample 'BufferPoolBench\.(slab4j|nettyAdaptive)$' -p size=4096,65536 -bm sample -tu ns -f 4 -wi 3 -w 1s -i 5 -r 1s -t 1
echo ALLDONE >> $OUT/commands.txt
