using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Pronto.Server.Jobs;

/// <summary>
/// Source-generated JSON metadata for the jobs' types, so the jobs API, the job files and the run history work in the
/// NativeAOT binary (reflection-based System.Text.Json is off there). Options objects keep their own settings; this
/// only supplies the metadata.
/// </summary>
[JsonSerializable(typeof(List<ScheduledJobOptions>))]
[JsonSerializable(typeof(ScheduledJobOptions))]
[JsonSerializable(typeof(JobRun))]
internal sealed partial class JobJsonContext : JsonSerializerContext
{
    /// <summary>The metadata of <typeparamref name="T"/> under <paramref name="options"/> (which name this context as resolver).</summary>
    public static JsonTypeInfo<T> Info<T>(JsonSerializerOptions options) => (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));

    /// <summary>A run as the history file and the API write it (its own property names; default options).</summary>
    public static JsonTypeInfo<JobRun> Run => Default.JobRun;
}
