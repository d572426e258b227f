#!/bin/bash
# usage: run.sh JAR OUTDIR OLDJAR
# Round 8: the adapter without a PooledBuffer per allocation (the raw API). JAR is the
# clean-clone jar of the round's code, OLDJAR that of the previous head (b8292af).
J=$1; OUT=$2; OLD=$3; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { jar=$1; name=$2; shift 2; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | $jar | X $*" >> $OUT/commands.txt; $XA $jar "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
C3="-f 1 -wi 3 -w 1s -i 3 -r 1s"
F2="-f 2 -wi 3 -w 1s -i 3 -r 1s"
F3="-f 3 -wi 3 -w 1s -i 3 -r 1s"
NA='NettyAllocatorBench\.allocateRelease$'
BP='BufferPoolBench\.(slab4j|nettyAdaptive)$'
# the adapter, old and new in turn, at the two sizes whose two-thread margin was in doubt
for k in 1 2; do
  run $OLD netty-t2-old-$k "$NA" -p size=64,4096 -p allocator=slab4j,nettyAdaptive $F2 -t 2
  run $J   netty-t2-new-$k "$NA" -p size=64,4096 -p allocator=slab4j,nettyAdaptive $F2 -t 2
done
run $J netty-t1 "$NA" $C3 -t 1 -prof gc
run $J netty-t2 "$NA" -p allocator=slab4j,nettyAdaptive $F3 -t 2
# BufferPool's own pair: the holder threaded through its acquire must cost nothing
run $OLD pair-old-1 "$BP" $C3 -t 1
run $J   pair-new-1 "$BP" $C3 -t 1
run $OLD pair-old-2 "$BP" $C3 -t 1
run $J   pair-new-2 "$BP" $C3 -t 1
echo ALLDONE >> $OUT/commands.txt
