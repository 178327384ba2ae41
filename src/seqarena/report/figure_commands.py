"""The command that fills each report figure, shown in its placeholder and under its caption."""

#: The command that fills each figure (shown in placeholders and captions).
COMMANDS = {
    "fig-latency": "seqarena bench forward_latency --models lstm,transformer --seq-lens 16,64,256,1024,4096",
    "fig-train-throughput": "seqarena bench train_step --models lstm,transformer --seq-lens 64,256,1024",
    "fig-decode": "seqarena bench generation --models lstm,transformer --tokens 1024",
    "fig-memory": "seqarena bench memory --models lstm,transformer --seq-lens 1024,4096,16384 --memory-cap-mb 2000",
    "fig-batch-throughput": "seqarena bench throughput --models lstm,transformer --seq-lens 256",
    "fig-accuracy-distance": "seqarena train --model lstm --task copy --distance D --budget 300steps  (D = 8, 32, "
                             "128; each model)",
    "fig-sample-efficiency": "seqarena train --model lstm --task copy --n-train N --seed S --budget 300steps  (N = "
                             "100, 1000; S = 0, 1, 2; each model)",
    "fig-lr-robustness": "seqarena train --model lstm --task copy --lr LR --budget 150steps  (LR = 1e-4 ... 1e-1; "
                         "each model)",
    "fig-forecast": "seqarena train --model lstm --task forecast --dataset sunspots --budget 500steps",
    "fig-mfu": "seqarena bench train_step --models lstm,transformer --seq-lens 256",
}
