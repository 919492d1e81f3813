using Pronto.Testing;

namespace Pronto.Sql.Tests;

[CollectionDefinition(Name)]
public sealed class BundledCollection : ICollectionFixture<BundledRepositoryFixture>
{
    public const string Name = "bundled repository";
}
