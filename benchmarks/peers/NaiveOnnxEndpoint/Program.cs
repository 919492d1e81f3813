using System.Text.Json.Serialization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

// NaiveOnnxEndpoint --model PATH --name NAME --port P   [IntraOpThreads=N in the environment, or --IntraOpThreads N]
var builder = WebApplication.CreateBuilder(args);
var modelPath = builder.Configuration["model"] ?? throw new ArgumentException("--model PATH is required");
var modelName = builder.Configuration["name"] ?? Path.GetFileNameWithoutExtension(modelPath);
var port = builder.Configuration["port"] ?? "8000";

using var sessionOptions = new Microsoft.ML.OnnxRuntime.SessionOptions();
var threads = builder.Configuration.GetValue<int>("IntraOpThreads");
if (threads > 0)
{
    sessionOptions.IntraOpNumThreads = threads;
}

using var session = new InferenceSession(modelPath, sessionOptions);

var app = builder.Build();

app.MapPost("/v2/models/{name}/infer", (string name, InferRequest request) =>
{
    if (name != modelName)
    {
        return Results.NotFound(new { error = $"unknown model '{name}'" });
    }

    var inputs = new List<NamedOnnxValue>();
    foreach (var input in request.Inputs)
    {
        var tensor = new DenseTensor<float>(input.Data, input.Shape.Select(d => (int)d).ToArray());
        inputs.Add(NamedOnnxValue.CreateFromTensor(input.Name, tensor));
    }

    using var results = session.Run(inputs);

    var outputs = new List<InferTensor>();
    foreach (var result in results)
    {
        var tensor = result.AsTensor<float>();
        var shape = tensor.Dimensions.ToArray().Select(d => (long)d).ToArray();
        outputs.Add(new InferTensor(result.Name, shape, "FP32", tensor.ToArray()));
    }

    return Results.Ok(new InferResponse(name, outputs));
});

app.Run($"http://127.0.0.1:{port}");

record InferRequest(List<InferTensor> Inputs);

record InferTensor(string Name, long[] Shape, string Datatype, float[] Data);

record InferResponse([property: JsonPropertyName("model_name")] string ModelName, List<InferTensor> Outputs);
