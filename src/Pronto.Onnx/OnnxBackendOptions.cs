namespace Pronto.Onnx;

/// <summary>Settings of the ONNX Runtime backend (configuration section <c>Pronto:Onnx</c>).</summary>
public sealed class OnnxBackendOptions
{
    /// <summary>Threads of the one intra-op pool shared by every session; 0 = the CPUs this process may use.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Threads of the shared inter-op pool (used only by parallel execution mode).</summary>
    public int InterOpThreads { get; set; } = 1;

    /// <summary>
    /// Whether pool threads spin while waiting for work. Off by default: in a server, spinning burns
    /// a core per thread between requests for a few microseconds of latency.
    /// </summary>
    public bool AllowSpinning { get; set; }

    /// <summary><c>disabled</c>, <c>basic</c>, <c>extended</c> or <c>all</c>.</summary>
    public string GraphOptimizationLevel { get; set; } = "all";

    /// <summary><c>cpu</c> or <c>cuda</c>. CUDA needs the GPU build (<c>-p:ProntoGpu=true</c>) and a GPU; otherwise CPU with a warning.</summary>
    public string ExecutionProvider { get; set; } = "cpu";

    public int CudaDeviceId { get; set; }

    /// <summary>
    /// Runs at load with zero-filled inputs, so the first request does not pay for lazy initialisation; skipped for a
    /// model whose config.pbtxt gives model_warmup samples. A failed run is a warning: the model is still READY.
    /// </summary>
    public int WarmupRuns { get; set; } = 1;

    /// <summary>max_batch_size given to a model whose config is derived and whose tensors all have a dynamic leading axis.</summary>
    public int DerivedMaxBatchSize { get; set; } = 64;

    /// <summary>Throws with the option's name when a value is out of range.</summary>
    public void Validate()
    {
        if (IntraOpThreads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "Pronto:Onnx:IntraOpThreads must be 0 (auto) or positive.");
        }

        if (InterOpThreads < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(InterOpThreads), InterOpThreads, "Pronto:Onnx:InterOpThreads must be at least 1.");
        }

        if (GraphOptimizationLevel is not ("disabled" or "basic" or "extended" or "all"))
        {
            throw new ArgumentOutOfRangeException(nameof(GraphOptimizationLevel), GraphOptimizationLevel, "Pronto:Onnx:GraphOptimizationLevel must be disabled, basic, extended or all.");
        }

        if (ExecutionProvider is not ("cpu" or "cuda"))
        {
            throw new ArgumentOutOfRangeException(nameof(ExecutionProvider), ExecutionProvider, "Pronto:Onnx:ExecutionProvider must be cpu or cuda.");
        }

        if (WarmupRuns < 0 || DerivedMaxBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(WarmupRuns), "Pronto:Onnx:WarmupRuns must be >= 0 and DerivedMaxBatchSize >= 1.");
        }
    }
}
