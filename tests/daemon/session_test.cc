// Session: envelope and message reassembly, reset between messages, the size cap.
#include "daemon/session.h"

#include <gtest/gtest.h>

#include <string>

namespace veto::daemon {
namespace {

TEST(SessionTest, ReassemblesTheMessage) {
  Session s(1 << 20);
  s.Connect("client.test", "192.0.2.7");
  s.Helo("helo.test");
  s.StartMessage("<Sender@Example.org>");
  s.AddRecipient("<a@example.test>");
  s.AddRecipient("b@example.test");
  s.SetQueueId("4ABC");
  s.AddHeader("Subject", "hi");
  s.AddHeader("From", "x@example.org");
  s.EndOfHeaders();
  EXPECT_TRUE(s.AddBody("line 1\r\n"));
  EXPECT_TRUE(s.AddBody("line 2\r\n"));
  EXPECT_EQ(s.raw(), "Subject: hi\r\nFrom: x@example.org\r\n\r\nline 1\r\nline 2\r\n");
  EXPECT_EQ(s.envelope().mail_from, "Sender@Example.org");
  EXPECT_EQ(s.envelope().rcpt_to, (std::vector<std::string>{"a@example.test", "b@example.test"}));
  EXPECT_EQ(s.raw_rcpts(), (std::vector<std::string>{"<a@example.test>", "b@example.test"}));
  EXPECT_EQ(s.envelope().client_ip, "192.0.2.7");
  EXPECT_EQ(s.envelope().helo, "helo.test");
  EXPECT_EQ(s.envelope().queue_id, "4ABC");
  EXPECT_EQ(s.headers().size(), 2u);
  EXPECT_EQ(s.message_bytes(), s.raw().size());
}

TEST(SessionTest, SecondMessageOnTheConnectionStartsClean) {
  Session s(1 << 20);
  s.Connect("c", "192.0.2.1");
  s.Helo("h");
  s.StartMessage("<a@x>");
  s.AddRecipient("<r1@x>");
  s.SetAuthUser("alice");
  s.AddHeader("Subject", "one");
  s.AddBody("body one\r\n");
  s.EndMessage();
  s.StartMessage("<b@x>");
  s.AddRecipient("<r2@x>");
  s.AddHeader("Subject", "two");
  s.AddBody("body two\r\n");
  EXPECT_EQ(s.raw(), "Subject: two\r\n\r\nbody two\r\n");
  EXPECT_EQ(s.envelope().rcpt_to, std::vector<std::string>{"r2@x"});
  EXPECT_EQ(s.envelope().auth_user, "");
  EXPECT_EQ(s.envelope().helo, "h");            // connection level: kept
  EXPECT_EQ(s.envelope().client_ip, "192.0.2.1");
  EXPECT_EQ(s.messages(), 2u);
}

TEST(SessionTest, AbortForgetsTheMessage) {
  Session s(1 << 20);
  s.Connect("c", "192.0.2.1");
  s.StartMessage("<a@x>");
  s.AddHeader("Subject", "one");
  s.EndMessage();  // what xxfi_abort does
  EXPECT_TRUE(s.raw().empty());
  EXPECT_TRUE(s.headers().empty());
  EXPECT_FALSE(s.in_message());
}

TEST(SessionTest, SizeCapKeepsNothingOfAnOversizeMessage) {
  Session s(100);
  s.Connect("c", "192.0.2.1");
  s.StartMessage("<a@x>");
  s.AddHeader("Subject", "s");
  s.AddHeader("X-Spam-Flag", "YES");
  s.EndOfHeaders();
  const std::string chunk(64, 'x');
  EXPECT_TRUE(s.AddBody(chunk));
  EXPECT_FALSE(s.AddBody(chunk));  // over 100 bytes
  EXPECT_FALSE(s.AddBody(chunk));
  EXPECT_TRUE(s.oversize());
  EXPECT_TRUE(s.raw().empty());
  EXPECT_GT(s.message_bytes(), 3 * chunk.size());
  // Headers are still known, for forged-header removal.
  EXPECT_EQ(s.headers().size(), 2u);
  s.EndMessage();
  s.StartMessage("<b@x>");
  EXPECT_FALSE(s.oversize());
  EXPECT_TRUE(s.AddBody("small"));
}

TEST(SessionTest, HugeHeaderFloodIsBounded) {
  Session s(1000);
  s.StartMessage("<a@x>");
  for (int i = 0; i < 10000; ++i) s.AddHeader("X-Junk", std::string(50, 'j'));
  EXPECT_TRUE(s.oversize());
  EXPECT_LT(s.headers().size(), 30u);
}

// The order an MTA uses when vetod switched the connect, MAIL and end-of-headers steps off:
// HELO first, the client and the sender at the first recipient, no end-of-headers call.
TEST(SessionTest, StepsSwitchedOff) {
  Session s(1 << 20);
  s.Helo("helo.test");
  for (const char* from : {"sender@example.org", ""}) {
    EXPECT_FALSE(s.in_message());
    s.SetClient("client.test", "192.0.2.7");
    s.StartMessage(from);
    s.AddRecipient("<a@example.test>");
    s.AddHeader("Subject", "hi");
    EXPECT_TRUE(s.AddBody("body\r\n"));  // the blank line comes first
    s.EndOfHeaders();                      // and only once (eom calls it too)
    EXPECT_EQ(s.raw(), "Subject: hi\r\n\r\nbody\r\n");
    EXPECT_EQ(s.envelope().helo, "helo.test");  // SetClient keeps HELO
    EXPECT_EQ(s.envelope().client_host, "client.test");
    EXPECT_EQ(s.envelope().client_ip, "192.0.2.7");
    EXPECT_EQ(s.envelope().mail_from, from);
    s.EndMessage();
  }
  // No body at all: end of message adds the blank line.
  s.StartMessage("a@b");
  s.AddHeader("Subject", "empty");
  s.EndOfHeaders();
  EXPECT_EQ(s.raw(), "Subject: empty\r\n\r\n");
}

TEST(SessionTest, BareAddress) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {{"<a@b>", "a@b"}, {"a@b", "a@b"}, {"<>", ""}, {"", ""}, {"<a@b", "a@b"},
               {" <a@b> ", "a@b"}, {"a@b SIZE=100", "a@b"}, {"<a@b> SIZE=1", "a@b"}};
  for (const Case& c : cases) EXPECT_EQ(BareAddress(c.in), c.out) << c.in;
}

}  // namespace
}  // namespace veto::daemon
