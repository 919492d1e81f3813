using BenchmarkDotNet.Attributes;
using Pronto.Core.Inference;
using Pronto.Core.Scheduling;
using Pronto.Core.Tensors;

namespace Pronto.MicroBench;

/// <summary>
/// The dynamic batcher's work around one engine run of 32 requests: <see cref="BatchAssembler.Concatenate"/> of
/// their inputs (minilm's padded to the longest text) and <see cref="BatchAssembler.Split"/> of the run's output
/// back to each request (minilm's last_hidden_state cut back to each text's own length), as DynamicBatcher calls them.
/// </summary>
/// <remarks>
/// fraud: 32 requests of features [1,6], output probabilities [32,2]. minilm: 32 texts of 4 to 24 words prepared by
/// the bundled TextPreparer (input_ids, attention_mask, token_type_ids [1,n]), output [32,longest,384].
/// </remarks>
[MemoryDiagnoser]
public class BatchAssemblyBenchmarks
{
    private const int Requests = 32;

    private ScheduledRequest[] _batch = null!;
    private string[] _outputNames = null!;
    private NamedTensor[] _merged = null!;
    private NamedTensor[] _raw = null!;

    [Params(PayloadKind.Fraud, PayloadKind.MiniLm)]
    public PayloadKind Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var fraud = Payload == PayloadKind.Fraud;
        _outputNames = [fraud ? "probabilities" : "last_hidden_state"];
        var inputs = fraud ? FraudInputs() : MiniLmInputs();
        _batch = new ScheduledRequest[Requests];
        for (var i = 0; i < Requests; i++)
        {
            _batch[i] = new ScheduledRequest
            {
                Inputs = inputs[i],
                OutputNames = _outputNames,
                Rows = 1,
                Priority = 0,
                EnqueuedAt = 0,
                TimeoutAt = long.MaxValue,
                Sequence = i,
                Owner = null!, // only the queue reads it; Concatenate and Split never do
            };
        }

        _merged = BatchAssembler.Concatenate(_batch, Requests, Requests);
        long[] outputShape = fraud ? [Requests, 2] : [Requests, _merged[0].Tensor.Shape[1], 384];
        _raw = [new NamedTensor(_outputNames[0], Tensor.Create(new float[Tensor.CountElements(outputShape)], outputShape))];
    }

    [Benchmark]
    public NamedTensor[] Concatenate() => BatchAssembler.Concatenate(_batch, Requests, Requests);

    [Benchmark]
    public NamedTensor[][] Split()
    {
        var results = new NamedTensor[Requests][];
        for (var i = 0; i < Requests; i++)
        {
            // One row a request: request i's rows start at row i.
            results[i] = BatchAssembler.Split(_batch[i], i, _outputNames, _raw, _outputNames, _merged);
        }

        return results;
    }

    private static IReadOnlyList<NamedTensor>[] FraudInputs()
    {
        // An array, as the REST reader hands a request's inputs on; every request carries the same 6 features.
        NamedTensor[] features = [CodecPayload.Create(PayloadKind.Fraud).Input];
        var inputs = new IReadOnlyList<NamedTensor>[Requests];
        Array.Fill(inputs, features);
        return inputs;
    }

    private static IReadOnlyList<NamedTensor>[] MiniLmInputs()
    {
        var preparer = MiniLmText.Preparer();
        var texts = MiniLmText.Sentences(Requests, 4, 24);
        var inputs = new IReadOnlyList<NamedTensor>[Requests];
        for (var i = 0; i < Requests; i++)
        {
            inputs[i] = preparer.Prepare(Tensor.FromStrings([texts[i]]));
        }

        return inputs;
    }
}
