using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Repository;

/// <summary>The repository over real ONNX models written per test.</summary>
public sealed class ModelRepositoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-repo-").FullName;
    private readonly ModelRepository _repository;

    public ModelRepositoryTests() => _repository = new ModelRepository(_root, [new OnnxBackend()]);

    [Fact]
    public void Discovery_finds_model_folders_and_ignores_everything_else()
    {
        TinyModels.WriteAddConstant(_root, "b_model", 1f, 2);
        TinyModels.WriteAddConstant(_root, "a_model", 1f, 2);
        Directory.CreateDirectory(Path.Combine(_root, "notes"));
        Directory.CreateDirectory(Path.Combine(_root, "weird name"));
        File.WriteAllText(Path.Combine(_root, "README.txt"), "not a model");
        // A model another process is still preparing (BundledRepository's staging folder): complete, but hidden.
        TinyModels.WriteAddConstant(_root, ".c_model.partial-0123", 1f, 2);
        Assert.Equal(["a_model", "b_model"], _repository.DiscoverModelNames());
    }

    [Fact]
    public void Without_a_config_the_latest_version_is_served_with_a_derived_config()
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 3, version: 1);
        TinyModels.WriteAddConstant(_root, "adder", 10f, 3, version: 2);
        _repository.Load("adder");

        var index = _repository.Index();
        var row = Assert.Single(index);
        Assert.Equal(new ModelVersionStatus("adder", 2, ModelState.Ready, ""), row with { ResidentBytes = null, LastUsed = null });
        Assert.True(row.ResidentBytes >= new FileInfo(Path.Combine(_root, "adder", "2", "model.onnx")).Length, $"{row.ResidentBytes} bytes");
        using var lease = _repository.Acquire("adder");
        Assert.Equal(2, lease.Model.Version);
        Assert.Equal(64, lease.Model.Config.MaxBatchSize);
        Assert.Equal([3L], lease.Model.Config.Inputs[0].Dims);
        Assert.Equal([11f, 12f, 13f], Run("adder", null, 1, 2, 3));
    }

    [Fact]
    public void Version_policies_from_config_pbtxt_select_versions()
    {
        for (var v = 1; v <= 3; v++)
        {
            TinyModels.WriteAddConstant(_root, "all", v, 1, version: v);
            TinyModels.WriteAddConstant(_root, "some", v, 1, version: v);
        }

        File.WriteAllText(Path.Combine(_root, "all", "config.pbtxt"), "name: \"all\"\nversion_policy: { all { } }\n");
        File.WriteAllText(Path.Combine(_root, "some", "config.pbtxt"), "version_policy: { specific { versions: [1, 3] } }\n");
        _repository.Load("all");
        _repository.Load("some");
        Assert.Equal([1L, 2L, 3L], _repository.Index().Where(s => s.Name == "all").Select(s => s.Version));
        Assert.Equal([1L, 3L], _repository.Index().Where(s => s.Name == "some").Select(s => s.Version));
        Assert.Equal([2f], Run("all", "1", 1));
        Assert.Equal([3f], Run("all", "2", 1));
        Assert.Equal([4f], Run("some", null, 1));
        var missing = Assert.Throws<ProntoException>(() => _repository.Acquire("some", "2"));
        Assert.Equal(ErrorCode.NotFound, missing.Code);
        Assert.Equal("model 'some' has no version '2'", missing.Message);
    }

    [Fact]
    public void A_config_is_parsed_and_checked_against_the_model()
    {
        TinyModels.WriteAddConstant(_root, "declared", 1f, 2);
        File.WriteAllText(Path.Combine(_root, "declared", "config.pbtxt"), """
            name: "declared"
            platform: "onnxruntime_onnx"
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 2 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
            instance_group [ { count: 2 kind: KIND_CPU } ]
            """);
        _repository.Load("declared");
        using var lease = _repository.Acquire("declared");
        Assert.Equal(8, lease.Model.Config.MaxBatchSize);
        Assert.Equal(2, lease.Model.Config.InstanceCount);
    }

    [Fact]
    public async Task A_corrupt_model_is_unavailable_with_the_engine_message_and_the_others_stay_ready()
    {
        TinyModels.WriteAddConstant(_root, "good", 1f, 1);
        Directory.CreateDirectory(Path.Combine(_root, "broken", "1"));
        File.WriteAllBytes(Path.Combine(_root, "broken", "1", "model.onnx"), [0x08, 0x07, 0xFF, 0xFF, 0x00, 0x13]);
        TinyModels.WriteAddConstant(_root, "zeta", 5f, 1);

        await _repository.LoadAllAsync();

        var index = _repository.Index();
        Assert.Equal(["broken", "good", "zeta"], index.Select(s => s.Name));
        var broken = index[0];
        Assert.Equal(ModelState.Unavailable, broken.State);
        Assert.StartsWith("ONNX Runtime cannot load 'model.onnx': ", broken.Reason, StringComparison.Ordinal);
        Assert.Equal(ModelState.Ready, index[1].State);
        Assert.Equal(ModelState.Ready, index[2].State);
        Assert.Equal([6f], Run("zeta", null, 1));
        var error = Assert.Throws<ProntoException>(() => _repository.Acquire("broken"));
        Assert.Equal(ErrorCode.Unavailable, error.Code);
    }

    [Fact]
    public void Models_load_and_unload_at_run_time()
    {
        TinyModels.WriteAddConstant(_root, "m", 1f, 1);
        Assert.Equal(new ModelVersionStatus("m", null, ModelState.Unavailable, "unloaded"), Assert.Single(_repository.Index()));
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<ProntoException>(() => _repository.Acquire("m")).Code);

        _repository.Load("m");
        Assert.Equal([2f], Run("m", null, 1));

        _repository.Unload("m");
        Assert.Equal(new ModelVersionStatus("m", null, ModelState.Unavailable, "unloaded"), Assert.Single(_repository.Index()));
        Assert.Equal(ErrorCode.Unavailable, Assert.Throws<ProntoException>(() => _repository.Acquire("m")).Code);

        // A new version appears on disk; loading again serves it.
        TinyModels.WriteAddConstant(_root, "m", 100f, 1, version: 2);
        _repository.Load("m");
        Assert.Equal([101f], Run("m", null, 1));
    }

    [Fact]
    public void An_unload_waits_for_in_flight_inferences()
    {
        TinyModels.WriteAddConstant(_root, "busy", 1f, 1);
        _repository.Load("busy");
        var lease = _repository.Acquire("busy");
        _repository.Unload("busy");

        // The lease taken before the unload still runs on the engine instance.
        var input = new NamedTensor("x", Tensor.Create(new float[] { 41 }, 1, 1));
        Assert.Equal([42f], lease.Model.Instance.Run([input], ["y"], CancellationToken.None)[0].Tensor.ToArray<float>());
        lease.Dispose();
        Assert.Throws<ObjectDisposedException>(() => lease.Model.Instance.Run([input], ["y"], CancellationToken.None));
    }

    /// <summary>The server's shutdown disposes the repository last: a request still holding a lease keeps its engine instance.</summary>
    [Fact]
    public void Disposing_the_repository_waits_for_in_flight_inferences()
    {
        TinyModels.WriteAddConstant(_root, "busy", 1f, 1);
        var repository = new ModelRepository(_root, [new OnnxBackend()]);
        repository.Load("busy");
        var lease = repository.Acquire("busy");
        repository.Dispose();

        var input = new NamedTensor("x", Tensor.Create(new float[] { 41 }, 1, 1));
        Assert.Equal([42f], lease.Model.Instance.Run([input], ["y"], CancellationToken.None)[0].Tensor.ToArray<float>());
        lease.Dispose();
        Assert.Throws<ObjectDisposedException>(() => lease.Model.Instance.Run([input], ["y"], CancellationToken.None));
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("")]
    [InlineData("/etc")]
    public void A_model_name_never_escapes_the_repository(string name)
    {
        var error = Assert.Throws<ProntoException>(() => _repository.Load(name));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
    }

    [Fact]
    public void Loading_an_unknown_model_is_not_found()
    {
        var error = Assert.Throws<ProntoException>(() => _repository.Load("ghost"));
        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Equal($"model 'ghost' is not in the repository {_root}", error.Message);
    }

    [Fact]
    public void A_config_whose_name_differs_from_its_folder_is_rejected()
    {
        TinyModels.WriteAddConstant(_root, "folder", 1f, 1);
        File.WriteAllText(Path.Combine(_root, "folder", "config.pbtxt"), "name: \"other\"");
        Assert.False(_repository.TryLoad("folder"));
        var row = Assert.Single(_repository.Index());
        Assert.Equal(ModelState.Unavailable, row.State);
        Assert.Equal("config.pbtxt names the model 'other', but its folder is 'folder'", row.Reason);
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private float[] Run(string model, string? version, params float[] values)
    {
        var service = new InferenceService(_repository);
        var response = service.InferDirect(new InferenceRequest
        {
            ModelName = model,
            ModelVersion = version,
            Inputs = [new NamedTensor("x", Tensor.Create(values, 1, values.Length))],
        });
        return response.Outputs[0].Tensor.ToArray<float>();
    }
}
