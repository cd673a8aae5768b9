from tests.conftest import ADMIN, sent_messages

async def test_smoke(api, llm):
    await api.company()
    await api.review()
    r = await api.generate()
    print(r.status_code, r.json())
    print(sent_messages(llm["chat"]))
    r = await api.client.get("/schema/openapi.json")
    import json, pathlib; pathlib.Path("/tmp/smoke/openapi.json").write_text(json.dumps(r.json(), indent=1))
