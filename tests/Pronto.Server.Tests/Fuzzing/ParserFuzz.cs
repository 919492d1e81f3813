using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Protocol;
using Pronto.Server.Grpc;
using Pronto.Server.Grpc.Protocol;

namespace Pronto.Server.Tests.Fuzzing;

/// <summary>A parser under fuzzing: valid seed inputs, tokens its grammar uses, and the call that parses one input.</summary>
internal sealed record FuzzTarget(string Name, IReadOnlyList<byte[]> Seeds, IReadOnlyList<byte[]> Dictionary, Action<byte[]> Parse)
{
    /// <summary>
    /// A refusal the server turns into a 400 / INVALID_ARGUMENT with a message: any <see cref="ProntoException"/> but
    /// <see cref="ErrorCode.Internal"/>, and for protobuf bytes the parser's own <see cref="InvalidProtocolBufferException"/>
    /// (InferenceGrpcMethodProvider maps it to INVALID_ARGUMENT).
    /// </summary>
    public static bool IsRefusal(Exception e) => e switch
    {
        ProntoException p => p.Code != ErrorCode.Internal && !string.IsNullOrWhiteSpace(p.Message),
        InvalidProtocolBufferException => true,
        _ => false,
    };
}

/// <summary>What one run found: inputs tried, accepted, refused as a client error, and crashes (anything else).</summary>
internal sealed record FuzzReport(string Target, int Seed, int Inputs, int Accepted, int Refused, int CorpusSize, IReadOnlyList<string> Crashes, int CrashCount)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Target}\tseed {Seed}\t{Inputs} inputs\t{Accepted} accepted\t{Refused} refused\t{CrashCount} crashes\tcorpus {CorpusSize}");
}

/// <summary>
/// Mutation fuzzing of Pronto's protocol parsers, in process (no sockets): the OIP v2 JSON request reader, the
/// binary tensor extension's reader, the config.pbtxt reader (with the pronto.* parameter checks a load runs) and
/// the gRPC ModelInfer decoder. Every input is either accepted or refused with a client error; anything else is
/// a crash. Accepted mutants join the corpus (one in eight, up to 512), so later mutations start from inputs that
/// already pass the outer checks and reach deeper ones.
/// </summary>
internal static class ParserFuzz
{
    private const int MaxCorpus = 512;
    private const int KeptCrashes = 5;

    private static readonly Lazy<FuzzTarget[]> All = new(() => [Json(), Binary(), Config(), Grpc()]);

    public static IReadOnlyList<FuzzTarget> Targets => All.Value;

    public static FuzzTarget Target(string name) => Targets.Single(t => t.Name == name);

    public static FuzzReport Run(FuzzTarget target, int inputs, int seed)
    {
        foreach (var valid in target.Seeds)
        {
            target.Parse(valid); // a seed the parser refuses makes the run meaningless: let it throw
        }

        var random = new Random(seed);
        var corpus = new List<byte[]>(target.Seeds);
        var crashes = new List<string>();
        int accepted = 0, refused = 0, crashCount = 0;
        for (var i = 0; i < inputs; i++)
        {
            var input = Mutator.Havoc(corpus, target.Dictionary, random);
            try
            {
                target.Parse(input);
                accepted++;
                if (corpus.Count < MaxCorpus && random.Next(8) == 0)
                {
                    corpus.Add(input);
                }
            }
            catch (Exception e) when (FuzzTarget.IsRefusal(e))
            {
                refused++;
            }
            catch (Exception e)
            {
                crashCount++;
                if (crashes.Count < KeptCrashes)
                {
                    crashes.Add($"input {i} ({Convert.ToBase64String(input)}): {e.GetType().Name}: {e.Message}");
                }
            }
        }

        return new FuzzReport(target.Name, seed, inputs, accepted, refused, corpus.Count, crashes, crashCount);
    }

    private static byte[][] Tokens(params string[] tokens) => [.. tokens.Select(Encoding.UTF8.GetBytes)];

    private static readonly byte[][] JsonTokens = Tokens(
        "\"inputs\"", "\"outputs\"", "\"parameters\"", "\"shape\"", "\"datatype\"", "\"data\"", "\"name\"", "\"id\"",
        "\"binary_data_size\"", "\"binary_data\"", "\"classification\"", "\"binary_data_output\"",
        "\"FP32\"", "\"FP64\"", "\"FP16\"", "\"BF16\"", "\"INT8\"", "\"INT64\"", "\"UINT64\"", "\"BOOL\"", "\"BYTES\"",
        "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "null", "true", "false", "[", "]", "{", "}", ",", ":", "\"",
        "\"\\u0000\"", "\"\\ud800\"", "\"\\\\\"", "[[[[[[[[[[[[[[[[", "]]]]]]]]", "{\"a\":{\"a\":{\"a\":", "\U0001F600",
        "[]", "{}", "\"\"", "-1", "0", "1e309", "9223372036854775807", "4294967296")
        .Concat(new byte[][] { [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xFF], [0x00] }).ToArray();

    private static FuzzTarget Json() => new("json",
        Tokens(
            """{"id":"42","inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[[912.5,40,7,3,850,5]]}]}""",
            """{"inputs":[{"name":"fields","shape":[2],"datatype":"BYTES","data":["{\"amount\": 912.5, \"hour\": 3}","caf\u00e9 \\n \\u00e9"]}],"outputs":[{"name":"probabilities","parameters":{"classification":2}}]}""",
            """{"parameters":{"priority":1,"timeout":5000},"inputs":[{"name":"input_ids","shape":[1,4],"datatype":"INT64","data":[101,7592,2088,102]},{"name":"attention_mask","shape":[1,4],"datatype":"INT64","data":[1,1,1,1]},{"name":"token_type_ids","shape":[1,4],"datatype":"INT64","data":[0,0,0,0]}]}""",
            """{"inputs":[{"name":"x","shape":[3],"datatype":"FP64","data":["NaN","Infinity",-1.5e10]},{"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]},{"name":"u","shape":[1],"datatype":"UINT8","data":255}],"outputs":[{"name":"y"}]}"""),
        JsonTokens,
        input => InferenceJson.ReadRequest(input, "fraud", null));

    /// <summary>Inputs are a 4-byte little-endian header length (Inference-Header-Content-Length) then the body, so mutations reach the length too.</summary>
    private static FuzzTarget Binary()
    {
        static byte[] Framed(string json, params byte[][] tensors)
        {
            var header = Encoding.UTF8.GetBytes(json);
            var prefix = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(prefix, header.Length);
            return [.. prefix, .. header, .. tensors.SelectMany(t => t)];
        }

        static byte[] Strings(params string[] elements) =>
        [
            .. elements.SelectMany(e =>
            {
                var bytes = Encoding.UTF8.GetBytes(e);
                var length = new byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
                return (byte[])[.. length, .. bytes];
            }),
        ];

        var features = new float[] { 912.5f, 40, 7, 3, 850, 5 }.SelectMany(BitConverter.GetBytes).ToArray();
        var texts = Strings("hello", "", "caf\u00e9");
        return new("binary",
            [
                Framed("""{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", features),
                Framed($$$"""{"inputs":[{"name":"text","shape":[3],"datatype":"BYTES","parameters":{"binary_data_size":{{{texts.Length}}}}},{"name":"n","shape":[2],"datatype":"INT16","data":[1,-2]}],"outputs":[{"name":"embedding","parameters":{"binary_data":true}}]}""", texts),
                Framed("""{"inputs":[{"name":"h","shape":[2,2],"datatype":"FP16","parameters":{"binary_data_size":8}},{"name":"b","shape":[3],"datatype":"BOOL","parameters":{"binary_data_size":3}}]}""", [0, 0x3C, 0, 0xC0, 0xFF, 0x7B, 0, 0], [1, 0, 1]),
            ],
            [.. JsonTokens, .. new byte[][] { [0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0x7F], [0xFF, 0xFF, 0xFF, 0xFF], [5, 0, 0, 0] }],
            input =>
            {
                var length = input.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(input) : input.Length;
                var body = input.Length >= 4 ? input.AsMemory(4) : input;
                InferenceJson.ReadRequest(body, length, "fraud", "1");
            });
    }

    private static FuzzTarget Config() => new("config",
        Tokens(
            """
            name: "fraud"
            platform: "onnxruntime_onnx"
            max_batch_size: 4096
            input [ { name: "features" data_type: TYPE_FP32 dims: [ 6 ] } ]
            output [ { name: "probabilities" data_type: TYPE_FP32 dims: [ 2 ] label_filename: "labels.txt" } ]
            parameters { key: "pronto.classify.output" value: { string_value: "probabilities" } }
            parameters { key: "pronto.fields.names" value: { string_value: "amount,customer_avg_amount,merchant_category,hour,distance_km,txn_last_hour" } }
            parameters { key: "pronto.prepare" value: { string_value: "fields" } }
            parameters { key: "pronto.produce" value: { string_value: "classify" } }
            """,
            """
            # minilm
            name: "minilm"
            max_batch_size: 64
            input [
              { name: "input_ids", data_type: TYPE_INT64, dims: [ -1 ] },
              { name: "attention_mask", data_type: TYPE_INT64, dims: [ -1 ] }
            ]
            output [ { name: "last_hidden_state" data_type: TYPE_FP32 dims: [ -1, 384 ] } ]
            dynamic_batching { max_queue_delay_microseconds: 1000 preferred_batch_size: [ 8, 16 ] }
            parameters { key: "pronto.prepare" value: { string_value: "text" } }
            parameters { key: "pronto.produce" value: { string_value: "embedding" } }
            parameters { key: "pronto.embedding.pooling" value: { string_value: "mean" } }
            parameters { key: "pronto.text.max_tokens" value: { string_value: "256" } }
            """,
            """
            name: 'resnet18'
            max_batch_size: 32
            version_policy: { latest: { num_versions: 2 } }
            instance_group [ { count: 1 kind: KIND_CPU } ]
            input [ { name: "Input247" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, 224, 224 ] } ]
            output [ { name: "feat" data_type: TYPE_FP32 dims: [ 512 ] reshape: { shape: [ 512 ] } } ]
            """),
        Tokens(
            "{", "}", "[", "]", ":", ",", "\"", "'", "#", "\n", "\\", "\\x", "-", "name", "input", "output", "dims", "-1", "0",
            "data_type", "TYPE_FP32", "TYPE_STRING", "TYPE_UNKNOWN", "max_batch_size", "dynamic_batching", "parameters",
            "key", "value", "string_value", "instance_group", "kind: KIND_GPU", "version_policy", "latest { num_versions: 0 }",
            "specific { versions: [ 1 ] }", "label_filename", "\"pronto.prepare\"", "\"pronto.text.max_tokens\"",
            "\"pronto.produce\"", "\"image\"", "reshape { shape: [ ] }", "sequence_batching {}", "optimization {}",
            "9223372036854775808", "1e309", "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{", "\u00e9"),
        input =>
        {
            var config = ModelConfigText.Parse(Encoding.UTF8.GetString(input), "m", "config.pbtxt");
            ProntoParameters.Validate(config);
        });

    private static FuzzTarget Grpc()
    {
        var fraud = new ModelInferRequest { ModelName = "fraud", Id = "7" };
        fraud.Inputs.Add(Input("features", "FP32", 1, 6));
        fraud.RawInputContents.Add(ByteString.CopyFrom(new float[] { 912.5f, 40, 7, 3, 850, 5 }.SelectMany(BitConverter.GetBytes).ToArray()));

        var typed = new ModelInferRequest { ModelName = "minilm", ModelVersion = "1" };
        var text = Input("text", "BYTES", 2);
        text.Contents = new InferTensorContents();
        text.Contents.BytesContents.Add(ByteString.CopyFromUtf8("hello"));
        text.Contents.BytesContents.Add(ByteString.CopyFromUtf8("world"));
        var ids = Input("ids", "INT64", 1, 3);
        ids.Contents = new InferTensorContents();
        ids.Contents.Int64Contents.Add([101, 7592, 102]);
        typed.Inputs.Add(text);
        typed.Inputs.Add(ids);
        typed.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "embedding" });
        typed.Parameters["priority"] = new InferParameter { Int64Param = 1 };

        return new("grpc",
            [fraud.ToByteArray(), typed.ToByteArray()],
            [[0x00], [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x80], [0x0A, 0x7F], [0x22, 0x00], [0x32, 0x05], [0x1A, 0x02, 0x08, 0x01], [0x12]],
            input => GrpcInferCodec.ReadRequest(ModelInferRequest.Parser.ParseFrom(input), 16_777_216));

        static ModelInferRequest.Types.InferInputTensor Input(string name, string datatype, params long[] shape)
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype };
            input.Shape.Add(shape);
            return input;
        }
    }
}
