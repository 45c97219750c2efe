"""Two catalog refreshes at the same moment (sync worker + technician) both succeed; the cache stays readable."""
import threading

from sync.downward import CatalogCache
from sync.protocol import Catalog, ServiceItem


def test_concurrent_catalog_stores_never_fail_and_leave_a_readable_cache(tmp_path):
    cache = CatalogCache(tmp_path / "catalog.json")
    errors = []

    def store(n):
        try:
            for i in range(30):
                cache.store(Catalog(version=f"v{n}-{i}", items=[ServiceItem(code="query", name_zh="查询",
                                                                            name_en="Query")]), f'"{n}-{i}"')
        except Exception as exc:   # the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=store, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    loaded = cache.load()
    assert loaded is not None and loaded.catalog.items[0].code == "query"
    assert not list(tmp_path.glob("*.tmp"))
