"""Drive `wxpub sandbox` with the Python SDK wechatpy, unchanged, as an independent check of the
sandbox's fidelity to the WeChat API. Only the base URLs are pointed at the sandbox.

Usage: python3 wechatpy_check.py BASE_URL APPID SECRET JPEG_PATH YESTERDAY
"""
import sys
import time

from wechatpy import WeChatClient

base, appid, secret, jpeg, yesterday = sys.argv[1:6]


class SandboxClient(WeChatClient):
    API_BASE_URL = base + "/cgi-bin/"

    def fetch_access_token(self):
        # wechatpy hard-codes api.weixin.qq.com for the token; same call, other host.
        return self._fetch_access_token(
            url=base + "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


client = SandboxClient(appid, secret)
client.datacube.API_BASE_URL = base + "/datacube/"

assert client.access_token, "token"

with open(jpeg, "rb") as f:
    body_url = client.media.upload_image(f)  # typed API: media/uploadimg
assert body_url.startswith(base), body_url

with open(jpeg, "rb") as f:
    material = client.material.add("image", f)  # typed API: material/add_material
cover = material["media_id"]

title = "青铜时代——青州考古新发现特展"
draft = client.post(
    "draft/add",
    data={"articles": [{"title": title, "author": "展览部", "content": '<p>正文</p><img src="%s">' % body_url, "thumb_media_id": cover}]},
)
got = client.post("draft/get", data={"media_id": draft["media_id"]})
assert got["news_item"][0]["title"] == title, got
assert body_url in got["news_item"][0]["content"], got

submitted = client.post("freepublish/submit", data={"media_id": draft["media_id"]})
for _ in range(50):
    status = client.post("freepublish/get", data={"publish_id": submitted["publish_id"]})
    if status["publish_status"] != 1:
        break
    time.sleep(0.1)
assert status["publish_status"] == 0, status
assert status["article_detail"]["item"][0]["article_url"], status

rows = client.datacube.get_user_summary(yesterday, yesterday)  # typed API: datacube/getusersummary
assert rows and all(r["ref_date"] == yesterday for r in rows), rows

print("wechatpy OK: token, uploadimg, add_material, draft add/get, freepublish submit/get, getusersummary")
