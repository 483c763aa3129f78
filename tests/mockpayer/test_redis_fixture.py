"""The shared-state tests stand on a real redis-server: the fixture starts one that answers and is emptied per test."""

import redis


def test_the_fixture_serves_a_real_redis_emptied_per_test(redis_url):
    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.set("mockpayer:probe", "1", px=60_000)
    assert client.get("mockpayer:probe") == b"1"
    assert client.info("server")["redis_version"].split(".")[0].isdigit()


def test_the_next_test_sees_none_of_the_last_ones_keys(redis_url):
    assert redis.Redis.from_url(redis_url).get("mockpayer:probe") is None
