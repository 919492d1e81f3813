using System.Buffers;
using Microsoft.ML.OnnxRuntime;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Onnx;

/// <summary>
/// One ONNX Runtime session. ORT sessions are thread-safe for concurrent Run calls, so one instance
/// serves many requests at once; it owns the session and its options and disposes them on unload.
/// </summary>
internal sealed class OnnxModelInstance : IModelInstance, IRunIntoOutputs, ITimedLoad
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly ModelConfig _config;
    private volatile bool _disposed;

    /// <summary>Opening the session and checking it against the config, timed by <see cref="OnnxBackend.Load"/>.</summary>
    public TimeSpan SessionCreation { get; init; }

    public OnnxModelInstance(InferenceSession session, SessionOptions options, ModelConfig config)
    {
        _session = session;
        _options = options;
        _config = config;
    }

    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputNames, CancellationToken cancellationToken) =>
        Execute(inputs, cancellationToken, (runOptions, names, values) =>
        {
            using var outputs = _session.Run(runOptions, names, values, outputNames as IReadOnlyCollection<string> ?? [.. outputNames]);
            var result = new NamedTensor[outputNames.Count];
            var i = 0;
            foreach (var value in outputs)
            {
                result[i] = new NamedTensor(outputNames[i], OrtTensorConverter.ToTensor(value));
                i++;
            }

            return result;
        });

    public void RunInto(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<NamedTensor> outputs, CancellationToken cancellationToken) =>
        Execute<object?>(inputs, cancellationToken, (runOptions, names, values) =>
        {
            // The output values alias the caller's tensors (pinned like inputs): ONNX Runtime writes the results there.
            var outputValues = new OrtValue[outputs.Count];
            var pins = new MemoryHandle[outputs.Count];
            var created = 0;
            try
            {
                for (; created < outputs.Count; created++)
                {
                    outputValues[created] = OrtTensorConverter.ToOrtValue(outputs[created].Tensor, out pins[created]);
                }

                _session.Run(runOptions, names, values, [.. outputs.Select(o => o.Name)], outputValues);
                return null;
            }
            finally
            {
                for (var i = 0; i < created; i++)
                {
                    outputValues[i].Dispose();
                    pins[i].Dispose();
                }
            }
        });

    private T Execute<T>(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellationToken, Func<RunOptions, string[], OrtValue[], T> run)
    {
        // A run on a released native session would crash the process, not throw: check first. Leases keep
        // Dispose from racing a run (ModelLease), so this only catches use after unload.
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var count = inputs.Count;
        var names = new string[count];
        var values = new OrtValue[count];
        var pins = new MemoryHandle[count];
        var created = 0;
        using var runOptions = new RunOptions();

        // Terminate is ORT's way to stop a run in progress; the flag is read between kernels.
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        try
        {
            for (; created < count; created++)
            {
                names[created] = inputs[created].Name;
                values[created] = OrtTensorConverter.ToOrtValue(inputs[created].Tensor, out pins[created]);
            }

            return run(runOptions, names, values);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("the inference was cancelled while it ran", cancellationToken);
        }
        catch (OnnxRuntimeException e) when (IsCausedByInput(e.Message))
        {
            // Inputs pass Pronto's shape and datatype checks before a run, so what ONNX Runtime still refuses is in
            // their values (a Gather index past the table, an integer divisor of zero): the client's mistake, a 400.
            throw new ProntoException(ErrorCode.InvalidArgument, $"model '{_config.Name}' cannot run on these input values: {e.Message}", e);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ProntoException(ErrorCode.Internal, $"ONNX Runtime failed to run model '{_config.Name}': {e.Message}", e);
        }
        finally
        {
            for (var i = 0; i < created; i++)
            {
                values[i].Dispose();
                pins[i].Dispose();
            }
        }
    }

    /// <summary>One run on zero-filled inputs (1 for every dynamic axis), so lazy initialisation is paid at load; OnnxBackend.WarmUp says what a failure means.</summary>
    public void WarmUp(CancellationToken cancellationToken)
    {
        var inputs = new List<NamedTensor>(_session.InputMetadata.Count);
        foreach (var (name, node) in _session.InputMetadata)
        {
            var shape = node.Dimensions.Select(d => d < 0 ? 1L : d).ToArray();
            var type = OnnxTypes.ToDataType(node.ElementDataType);
            var tensor = type == DataType.Bytes
                ? Tensor.FromStrings(Enumerable.Repeat(ReadOnlyMemory<byte>.Empty, (int)Tensor.CountElements(shape)).ToArray(), shape)
                : Tensor.FromBytes(type, new byte[Tensor.CountElements(shape) * type.ElementSize()], shape);
            inputs.Add(new NamedTensor(name, tensor));
        }

        Run(inputs, [.. _session.OutputMetadata.Keys], cancellationToken);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _session.Dispose();
        _options.Dispose();
        NativeHeap.Trim();
    }

    /// <summary>
    /// ONNX Runtime's run errors that come from input values: its InvalidArgument status (out-of-bounds indices,
    /// shapes a node cannot broadcast) and integer division or modulo by zero (a Fail status with these words).
    /// </summary>
    internal static bool IsCausedByInput(string message) =>
        message.StartsWith("[ErrorCode:InvalidArgument]", StringComparison.Ordinal)
        || message.Contains("by zero", StringComparison.Ordinal);
}
