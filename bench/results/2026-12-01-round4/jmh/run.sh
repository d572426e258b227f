#!/bin/bash
# usage: run.sh JAR OUTDIR
J=$1; OUT=$2; mkdir -p $OUT
X="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar $J"
run() { name=$1; shift; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | X $*" >> $OUT/commands.txt; $X "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
C="-f 1 -wi 3 -w 1s -i 5 -r 1s"
C3="-f 1 -wi 3 -w 1s -i 3 -r 1s"
run pool-t1 'bench\.PoolBench\.(pool|poolCache|poolCacheChecked|poolCacheLocal|floor|floorLeased|floorLeasedLocal|nettyAdaptive|nettyPooled)$' $C -t 1 -prof gc
run buffer-t1 'BufferPoolBench\.(slab4j|slab4jByteBuffer|nettyAdaptive|nettyPooled|byteBufferAllocateDirect|unsafeMalloc)$' $C3 -t 1 -prof gc
run netty-t1 'NettyAllocatorBench\.' $C3 -t 1 -prof gc
run table 'TableBench\.(churn|allocThenFree)$' -p fit=INSTANT $C
run events 'EventBench\.(wokenPoolGet|syncPoolGetEventNack|syncPoolPutEvent|poolTryGetPut|syncArenaAllocEvent|arenaTryAllocFree|syncChooseOfTwo)$' $C3 -prof gc
run grow 'GrowBench' -f 1 -wi 3 -w 1s -i 5 -r 2s
run pool-t2 'bench\.PoolBench\.(pool|poolCache|poolCacheChecked|poolCacheLocal|floorLeased|nettyAdaptive|nettyPooled)$' $C3 -t 2
run buffer-t2 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' $C3 -t 2
run netty-t2 'NettyAllocatorBench\.allocateRelease$' $C3 -t 2
run buffer-sample 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' -p size=4096,65536 -bm sample -tu ns $C3 -t 1
echo ALLDONE >> $OUT/commands.txt
