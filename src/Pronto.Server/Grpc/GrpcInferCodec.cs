using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Server.Grpc.Protocol;
using DataType = Pronto.Core.Tensors.DataType;

namespace Pronto.Server.Grpc;

/// <summary>
/// <see cref="ModelInferRequest"/> to the core's <see cref="InferenceRequest"/>, and the core's response back,
/// with Triton's rules: inputs carry typed contents or the request carries one raw_input_contents entry per input
/// (never both); responses always answer in raw_output_contents, one per output, datatype and shape set.
/// </summary>
internal static class GrpcInferCodec
{
    private static readonly string ValidDatatypes = BuildValidDatatypes();
    private static readonly IReadOnlyDictionary<string, object> NoParameters = new Dictionary<string, object>();

    /// <summary>
    /// Decodes and checks every input (name, datatype, shape, element count, byte size) before the core sees it.
    /// Raw inputs are views of <paramref name="request"/>'s bytes: keep the message until the inference has completed.
    /// </summary>
    public static InferenceRequest ReadRequest(ModelInferRequest request, long maxTensorElements)
    {
        if (request.ModelName.Length == 0)
        {
            ProntoErrors.InvalidArgument("model_name is required");
        }

        var raw = request.RawInputContents;
        var useRaw = raw.Count > 0;
        if (useRaw && raw.Count != request.Inputs.Count)
        {
            ProntoErrors.InvalidArgument(
                $"the request has {raw.Count} raw_input_contents for {request.Inputs.Count} inputs; send one per input, in input order");
        }

        var inputs = new NamedTensor[request.Inputs.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            var input = request.Inputs[i];
            var name = input.Name;
            if (name.Length == 0)
            {
                ProntoErrors.InvalidArgument($"inputs[{i}] is missing 'name'");
            }

            if (!DataTypes.TryParseProtocolName(input.Datatype, out var type))
            {
                ProntoErrors.InvalidArgument($"input '{name}': unknown datatype '{input.Datatype}'; valid datatypes are {ValidDatatypes}");
            }

            var shape = new long[input.Shape.Count];
            input.Shape.CopyTo(shape, 0);
            var count = CountElements(name, shape, maxTensorElements);
            Tensor tensor;
            if (useRaw)
            {
                if (GrpcTensorCodec.HasElements(input.Contents))
                {
                    ProntoErrors.InvalidArgument(
                        $"input '{name}' has typed contents but the request also has raw_input_contents; send either typed contents for every input or one raw_input_contents per input");
                }

                tensor = GrpcTensorCodec.ReadRaw(name, i, type, shape, count, raw[i]);
            }
            else
            {
                tensor = GrpcTensorCodec.ReadTyped(name, type, shape, count, input.Contents);
            }

            inputs[i] = new NamedTensor(name, tensor);
        }

        var outputs = request.Outputs.Count == 0 ? [] : new RequestedOutput[request.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            var output = request.Outputs[i];
            if (output.Name.Length == 0)
            {
                ProntoErrors.InvalidArgument($"outputs[{i}] is missing 'name'");
            }

            var classification = 0;
            if (output.Parameters.TryGetValue("classification", out var k))
            {
                classification = GrpcParameters.Value(k, "classification", $"output '{output.Name}'") is long n and >= 0 and <= int.MaxValue
                    ? (int)n
                    : ProntoErrors.InvalidArgument<int>($"output '{output.Name}': classification must be a non-negative integer");
            }

            outputs[i] = new RequestedOutput(output.Name, classification);
        }

        return new InferenceRequest
        {
            ModelName = request.ModelName,
            ModelVersion = request.ModelVersion.Length == 0 ? null : request.ModelVersion,
            Id = request.Id.Length == 0 ? null : request.Id,
            Inputs = inputs,
            Outputs = outputs,
            Parameters = request.Parameters.Count == 0 ? NoParameters : GrpcParameters.Read(request.Parameters, "the request"),
        };
    }

    /// <summary>Every output as raw contents (Triton's behaviour); fixed-size outputs are wrapped, not copied.</summary>
    public static ModelInferResponse WriteResponse(InferenceResponse response)
    {
        var reply = new ModelInferResponse
        {
            ModelName = response.ModelName,
            ModelVersion = response.ModelVersion,
            Id = response.Id ?? "",
        };
        foreach (var (key, value) in response.Parameters)
        {
            reply.Parameters[key] = GrpcParameters.Write(value);
        }

        var outputs = response.Outputs;
        for (var i = 0; i < outputs.Count; i++)
        {
            var tensor = outputs[i].Tensor;
            var output = new ModelInferResponse.Types.InferOutputTensor { Name = outputs[i].Name, Datatype = tensor.DataType.ToProtocolName() };
            foreach (var dim in tensor.Shape)
            {
                output.Shape.Add(dim);
            }

            reply.Outputs.Add(output);
            reply.RawOutputContents.Add(GrpcTensorCodec.WriteRaw(tensor));
        }

        return reply;
    }

    private static long CountElements(string name, long[] shape, long max)
    {
        var count = Shapes.CountElements($"input '{name}'", shape);
        if (count > max)
        {
            ProntoErrors.InvalidArgument(
                $"input '{name}': shape {Shapes.Format(shape)} has more than {max} elements (Pronto:MaxTensorElements)");
        }

        return count;
    }

    private static string BuildValidDatatypes()
    {
        var names = new string[(int)DataType.BF16];
        for (var t = DataType.Bool; t <= DataType.BF16; t++)
        {
            names[(int)t - 1] = t.ToProtocolName();
        }

        return string.Join(", ", names);
    }
}
